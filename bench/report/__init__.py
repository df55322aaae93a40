"""Reports: read stored results (never train) and write tables, CSV and figures."""
