"""`python -m bench <command>`: the harness's command line.

Errors a user can fix (bad sizes, unknown names, missing data, corrupt files) print one line and
exit with status 2; nothing is trained before the input is validated.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from bench.errors import BenchError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line instead of usage + message
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from bench.commands import COMMANDS

    parser = _Parser(prog="python -m bench", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, module in COMMANDS.items():
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from bench.runtime import import_tensorflow_quietly

    import_tensorflow_quietly()
    try:
        return int(args.handler(args) or 0)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def print_json(obj) -> None:
    print(json.dumps(obj, indent=None, default=_jsonable))


def _jsonable(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
