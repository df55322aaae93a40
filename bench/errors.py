"""Errors a user caused or can fix. The CLI prints these as one line and exits with 2."""
import re


class BenchError(Exception):
    """Bad input or an unavailable resource: message is for humans, no traceback."""


class DatasetUnavailable(BenchError):
    """A data set has no local copy and cannot be downloaded from here."""


def one_line(e: BaseException, limit: int = 500) -> str:
    """An exception as one line for a record: type, message without ANSI colours or newlines."""
    text = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", str(e)).split())
    return f"{e.__class__.__name__}: {text[:limit]}"
