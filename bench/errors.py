"""Errors a user caused or can fix. The CLI prints these as one line and exits with 2."""


class BenchError(Exception):
    """Bad input or an unavailable resource: message is for humans, no traceback."""


class DatasetUnavailable(BenchError):
    """A data set has no local copy and cannot be downloaded from here."""
