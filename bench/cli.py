"""`python -m bench <command>`: the harness's command line.

Errors a user can fix (bad sizes, unknown names, missing data, corrupt files) print one line and
exit with status 2; nothing is trained before the input is validated.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
from typing import Sequence

from bench.commands import COMMANDS
from bench.errors import BenchError
from bench.process import configure_allocator, import_tensorflow_quietly


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line instead of usage + message
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m bench", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for module in COMMANDS.values():
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        # `sweep` only starts pytest; `backends` starts lanes; a machine without TensorFlow can
        # still run the backend lane (`equivalence --backend`)
        if getattr(args, "tensorflow", True) and importlib.util.find_spec("tensorflow"):

            import_tensorflow_quietly()
            configure_allocator()
        return int(args.handler(args) or 0)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
