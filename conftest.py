"""Loads the sweep plugin (bench/sweep/plugin.py) for this repository's pytest runs, so that
`pytest tests/benchmarks -m sweep --accumbench-profile quick` runs a sweep. Importing it costs
nothing until a profile is given."""
pytest_plugins = ["bench.sweep.plugin"]
