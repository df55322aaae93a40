"""Measurement: memory probes, steady-state timing, environment, one measured run, isolation,
and the memory model. Nothing here lives inside a model."""
