"""One module per subcommand; each has `add_parser(subparsers)` and sets `handler`."""
from bench.commands import (
    backends_cmd,
    budget_cmd,
    catalogue_cmd,
    check_cmd,
    coverage_cmd,
    equivalence_cmd,
    list_cmd,
    merge_cmd,
    readme_cmd,
    report_cmd,
    run_cmd,
    speed_design_cmd,
    studies_cmd,
    sweep_cmd,
    timings_cmd,
)

COMMANDS = {"list": list_cmd, "equivalence": equivalence_cmd, "run": run_cmd,
            "fit-budget": budget_cmd, "sweep": sweep_cmd, "merge": merge_cmd,
            "report": report_cmd, "check": check_cmd, "coverage": coverage_cmd,
            "catalogue": catalogue_cmd, "studies": studies_cmd,
            "speed-design": speed_design_cmd,
            "timings": timings_cmd, "readme": readme_cmd, "backends": backends_cmd}
