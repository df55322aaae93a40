"""Helpers for checking accumulation code from a user's own test suite."""
