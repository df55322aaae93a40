"""Equivalence analyses: levels 1-2 (gradient, trajectory) against the large batch, the controls that make them comparable, and the loss-scale check."""
