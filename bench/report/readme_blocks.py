"""The README's blocks rendered from committed records other than a report's results: the
time table (reports/timings.json), the committed regression baselines (bench/baselines/) and
the coverage measurements (reports/coverage.json). `python -m bench readme` rewrites them all;
a test compares each block with its rendering, so a hand edit or a stale block fails.

A block is one registration in `BLOCKS`: its marker name, the command its marker names, and
the function that renders it from the records under the repository root.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from bench.judge.verdict import LEVEL2_FACTOR, PER_VARIABLE_SLACK, TOLERANCE
from bench.report import backends, coverage, speed_design
from bench.report.baseline import load_summary, run_count
from bench.report.gates import Tolerances
from bench.report.studies import render
from bench.report.summary import replace_block
from bench.results import machine, store, timings


@dataclass(frozen=True)
class Block:
    name: str                         # <!-- accumbench:NAME:start ... -->
    command: str                      # what the marker says generates it
    render: Callable[[Path], str]     # the block's text from the records under a root


def baselines_table(root: Path) -> str:
    """Each committed baseline: its profile, the machine identity it is of, how many clean
    runs it combines, and its profile digest (a count the README never types)."""
    rows = ["| profile | machine (identity) | clean runs | profile digest | file |",
            "|---|---|---|---|---|"]
    for path in sorted((root / "bench/baselines").glob("*/*.json")):
        s = load_summary(path)
        identity = machine.of_environment(s.get("environment"))
        rows.append(f"| {s['profile']} | {machine.label(identity)} | {run_count(s)} | "
                    f"{s['profile_digest']} | `{path.relative_to(root)}` |")
    return "\n".join(rows)


def gates_table(_root: Path) -> str:
    """The regression check's gates with their limits as the code sets them (`Tolerances`):
    the README cannot drift from the check."""
    t = Tolerances()
    rows = [
        ("status", "a configuration that succeeded (in every baseline run) fails or is missing",
         "—"),
        ("speed (same identity)", "per-update times divided by the **calibration step** timed "
         "in the same sweep (a plain Keras training step that uses none of the harness's code), "
         "the run's better round: a one-sided Mann-Whitney test finds them larger than the "
         f"baseline's **slowest** run's (p < {t.speed_p:g}) **and** the better round's median "
         f"is more than {t.speed_same:g}× the slowest run's",
         "one process's speed is a draw; the better of two rounds fires only when both "
         "processes are slow; a busier machine slows the calibration step too"),
        ("pooled speed per strategy (any identity)", "over all of a strategy's configurations, "
         "the geometric mean of its speed relative to the model's other strategies in the same "
         f"round, current over the baseline's runs, exceeds {t.pooled_same:g}× (same identity; "
         "or the largest value the baseline's runs showed against each other, if larger) or "
         f"{t.pooled_other:g}× (another identity)",
         "the machine's drift between rounds cancels; across identities the strategies' "
         "relative speeds are a property of the CPU"),
        ("pooled speed per model and strategy (same identity, timed side by side)",
         "the same relative speed over one strategy's configurations on one model (a "
         f"side-by-side process is a round), exceeds {t.pooled_pair:g}× (or what the "
         "baseline's runs showed against each other, if larger)",
         "one strategy slower on one model is diluted in the pool over models"),
        ("pooled speed per model (same identity)", "the geometric mean of a model's calibrated "
         f"better-round times, current over the baseline's runs, exceeds {t.pooled_model:g}× "
         "(or what the baseline's runs showed against each other)",
         "a model-wide change has nothing within the run to stand out against"),
        ("speed vs the large batch", "samples/s as a share of the same round's large batch "
         f"drops more than {t.ratio_drop:.0%} below the lowest share of the baseline's runs",
         "—"),
        ("memory saving", "an accumulating configuration's peak as a share of its large "
         f"batch's rises more than {t.saving_rise:g} above the highest share of the baseline's "
         "runs, or more than half its saving where that is smaller (never less than the "
         "memory peak's slack allows, as a share of the large batch's peak)", "accumulation "
         "cannot quietly lose what it is for"),
        ("memory peak (same identity)", "the peak of the first probe that measured grows more "
         f"than {t.memory_rel:.0%} + {t.memory_slack_mib:g} MiB above the highest of the "
         f"baseline's runs (process RSS: {t.rss_rel:.0%} + {t.rss_slack_mib:g} MiB)",
         "process RSS moves with the checkout and the threads; the allocator's peak does not"),
        ("level 1", "a verdict none of the baseline's runs had, or the gradient error rising "
         f"{t.l1_factor:g}× above the highest of them, even under the tolerance", "—"),
        ("exact figures (same identity)", "where the baseline's runs repeated an outcome "
         "accuracy, a level-1 error or a level-2 ratio to the bit, any change beyond "
         f"relative {t.exact_rel:g}, with its size", "seeded and deterministic on one identity"),
        ("held state (any identity)", "weights + optimizer slots + accumulators, in bytes "
         "from the built objects, differ from the baseline's", "exact on every machine"),
        ("memory probes (same identity)", "a probe every baseline run had gives no reading",
         "—"),
        ("no silent pass", "the profile's digest changed, a configuration's settings changed "
         "or the baseline lacks it: exit 1 unless `--accept-changes`; a configuration missing "
         "from the current run always fails", "—"),
        ("outcome accuracy", f"a drop below the lowest of the baseline's runs larger than "
         f"{t.accuracy_z:g} binomial standard errors of the two test-set estimates",
         "a small test set moves in steps of one sample"),
    ]
    return "\n".join(["| gate | fires when | why |", "|---|---|---|",
                      *(f"| {g} | {when} | {why} |" for g, when, why in rows)])


def levels_table(_root: Path) -> str:
    """The three levels with the bars the code judges by (`bench/judge/verdict.py`)."""
    tolerances = ", ".join(f"{v:g} ({k})" for k, v in TOLERANCE.items())
    return "\n".join([
        "| level | compared | equivalent when |", "|---|---|---|",
        "| 1 gradient | the gradient a strategy applies at its first update vs the large "
        "batch's, same weights and data (read by a recording optimizer, so each strategy's own "
        "code — Keras' and yours included — is measured) | relative error ≤ "
        f"{tolerances}, and ≤ {PER_VARIABLE_SLACK:g}× that for any single variable |",
        "| 2 trajectory | weights after each of N updates from the same start and data order, "
        "relative distance to the large batch, next to the noise floor: the large batch "
        "against itself started one ulp up and one ulp down | ≤ "
        f"{LEVEL2_FACTOR:g}× the floor at every update |",
        "| 3 outcome | final test accuracy of models trained to the profile's bar, over paired "
        "seeds (same seed = same initial weights and data order for both strategies; random "
        "layers on) | the 95% t-interval of the mean paired difference lies within ±margin "
        "(equivalent), outside it (different), or straddles it (inconclusive: the report says "
        "how many seeds would decide) |"])


def overhead_text(root: Path) -> str:
    """The committed overhead study as `make bench-overhead` prints it (with its machine)."""
    path = root / "reports/overhead.json"
    if not path.exists():
        return "No overhead study is committed (`make bench-overhead` writes one)."
    return "```text\n" + render(json.loads(path.read_text())) + "\n```"


#: a crossed study pair rerun on one machine identity (bench.report.facts.crossed_pairs)
CROSSING_RERUN = "reports/study/crossing-rerun.jsonl.gz"


def crossing_table(root: Path) -> str:
    """Does crossing machine identities matter for a study pair? Each rerun configuration's
    test accuracy beside the committed record of the same sweep item, each with its machine,
    and the pair's difference both ways (the committed pair crosses identities, the rerun's
    does not)."""
    path = root / CROSSING_RERUN
    if not path.exists():
        return "No crossed pair has been rerun on one identity yet."
    rerun = {r["sweep_item"]: r for r in store.read_records(path)
             if r.get("kind") == "run" and r["status"] == "ok"}
    study = store.read_records(root / "reports/study/results.jsonl.gz")
    committed = {r["sweep_item"]: r for r in study
                 if r.get("kind") == "run" and r["status"] == "ok" and r["sweep_item"] in rerun}
    where = lambda r: machine.label(machine.of_environment(r.get("environment")),  # noqa: E731
                                    (r.get("environment") or {}).get("device"))
    rows = ["| configuration | committed: accuracy (machine) | rerun: accuracy (machine) | same to the bit |",
            "|---|---|---|---|"]
    for item, r in rerun.items():
        c = committed.get(item)
        if c is None:
            continue
        rows.append(f"| `{item}` | {c['final_test_accuracy']:.4f} ({where(c)}) | "
                    f"{r['final_test_accuracy']:.4f} ({where(r)}) | "
                    f"{'yes' if c['final_test_accuracy'] == r['final_test_accuracy'] else 'no'} |")
    lb = [i for i in rerun if ":large_batch:" in i]
    other = [i for i in rerun if ":large_batch:" not in i]
    if lb and other and lb[0] in committed and other[0] in committed:
        diff = lambda a, b: 100 * (a["final_test_accuracy"] - b["final_test_accuracy"])  # noqa: E731
        plan = next((r for r in study if r.get("kind") == "plan"), None)
        model = other[0].split(":")[0]
        margin = (((plan or {}).get("settings", {}).get("models", {}).get(model) or {})
                  .get("outcome") or {}).get("margin")
        rows += ["", f"The pair's difference in points: {diff(committed[other[0]], committed[lb[0]]):+.2f} "
                     f"as committed (two identities), {diff(rerun[other[0]], rerun[lb[0]]):+.2f} "
                     f"rerun on one" + (f"; the study's margin for {model} is ±{100 * margin:g}."
                                        if margin else ".")]
    return "\n".join(rows)


def timings_table(root: Path) -> str:
    return timings.table(timings.read(root / timings.DEFAULT_RECORD))


def coverage_table(root: Path) -> str:
    return "\n".join(coverage.lines(coverage.read_entries(root / "reports/coverage.json")))


def speed_design_table(root: Path) -> str:
    return "\n".join(speed_design.lines(speed_design.read(root / speed_design.DEFAULT_RECORD)))


def backends_summary(root: Path) -> str:
    """The backend lane's verdicts beside TensorFlow's (reports/backends/records.jsonl)."""
    return backends.summary(store.read(root / "reports/backends/records.jsonl"),
                            root / "reports/results.jsonl.gz")


BLOCKS = (
    Block("timings", "`make test`, `make bench` and `.ci/run`", timings_table),
    Block("baselines", "`python -m bench readme`", baselines_table),
    Block("gates", "`python -m bench readme`", gates_table),
    Block("overhead", "`make bench-overhead`", overhead_text),
    Block("levels", "`python -m bench readme`", levels_table),
    Block("crossing", "`python -m bench readme`", crossing_table),
    Block("coverage", "`python -m bench coverage --record reports/coverage.json`",
          coverage_table),
    Block("speed-design", "`python -m bench speed-design --record reports/speed_design.json`",
          speed_design_table),
    Block("backends", "`make bench-backends`", backends_summary),
)


def write_block(readme: Path, name: str, body: str) -> None:
    """Rewrite one registered block with `body` (a command that has just written the record)."""
    b = next(x for x in BLOCKS if x.name == name)
    replace_block(readme, b.name, body, b.command)


def block_text(readme: Path, name: str) -> str:
    """What the README holds between a block's markers."""
    text = readme.read_text()
    start, end = f"<!-- accumbench:{name}:start", f"<!-- accumbench:{name}:end -->"
    if start not in text or end not in text:
        return ""
    return text.split(start, 1)[1].split("-->", 1)[1].split(end, 1)[0].strip("\n")


def render_all(readme: Path, root: Path) -> list[str]:
    """Rewrite every block from its records; the names rewritten."""
    for b in BLOCKS:
        replace_block(readme, b.name, b.render(root), b.command)
    return [b.name for b in BLOCKS]
