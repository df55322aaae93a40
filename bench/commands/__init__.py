"""One module per subcommand; each has `add_parser(subparsers)` and sets `handler`."""
from bench.commands import equivalence_cmd, list_cmd, run_cmd

COMMANDS = {"list": list_cmd, "equivalence": equivalence_cmd, "run": run_cmd}
