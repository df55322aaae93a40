"""Stored results: JSON lines, appended as each configuration finishes."""
