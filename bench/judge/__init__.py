"""Judgements over measurements, without TensorFlow: equivalence verdicts, outcome statistics,
the memory model. The training layer computes with them; the report reads them."""
