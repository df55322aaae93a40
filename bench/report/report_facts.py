"""Everything a report and its README summary say, collected once from the records: the one
structure both render from (`ReportFacts`), and the checks that its claims agree with each
other and with the records (`contradictions`). The page and the summary pick from it; neither
computes a claim of its own, so they cannot disagree.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.report.advice import level12_failures, recommendations
from bench.report.answers import ModelAnswer, answer_of
from bench.report.facts import crossed_pairs, incomplete_line, run_facts, timing
from bench.report.frames import Results
from bench.report.prose import (
    ema_line,
    followup_lines,
    keras_line,
    naive_line,
    partial_window_line,
    token_line,
    variants_line,
)


@dataclass
class ReportFacts:
    res: Results
    levels: Results | None          # another profile's levels 1-2, memory, speed (advice)
    answers: list[ModelAnswer]
    status: str                     # the one status: complete, or what is missing
    complete: bool
    machines: list[tuple[str, int]]
    crossed: list[str]              # outcome pairs whose sides ran on different identities
    timing: dict[str, Any]
    lines: dict[str, str]           # the findings, by name, in the report's order
    advice: list[str]
    run_facts: list[str]

    def findings(self, *names: str) -> list[str]:
        """The named findings that have something to say (all, in order, without names)."""
        return [v for k, v in self.lines.items() if v and (not names or k in names)]


def collect(res: Results, levels: Results | None = None) -> ReportFacts:
    answers = [answer_of(res, m) for m in res.models]
    missing = incomplete_line(res)
    judged = [c for c in res.declared if c.get("phase") != "calibrate"]
    status = missing or (f"**Complete**: all {len(judged)} configurations the profile declares "
                         f"have results, over {len(res.sessions)} recorded session(s).")
    lines = {"keras": keras_line(res, answers), "token": token_line(res), "ema": ema_line(res),
             "partial_window": partial_window_line(res),
             **{f"followup{i}": x for i, x in enumerate(followup_lines(res, answers))},
             "naive": naive_line(res, answers), "variants": variants_line(res, answers)}
    return ReportFacts(res, levels, answers, status, missing is None, res.machines(),
                       crossed_pairs(res), timing(res), lines,
                       recommendations(res, answers, levels), run_facts(res))


def contradictions(facts: ReportFacts) -> list[str]:
    """Claims that disagree with the records or with each other (none, for a sound report):
    advice that drops a level-1/2 failure of a strategy it names, or "never the naive loop"
    where the naive loop failed; a cost quoted without its machine; a machine-bound figure in
    a report of several identities without the identity."""
    found = []
    levels = facts.levels if facts.levels is not None else (
        facts.res if len(facts.res.eq) else None)
    for line in facts.advice:
        model = line.split("**")[1]
        for strategy in ("accumulate", "keras_builtin", "naive"):
            for failure in level12_failures(levels, model, strategy):
                if failure not in line:
                    found.append(f"{model}: the advice drops {strategy}'s level-1/2 failure "
                                 f"({failure})")
        if level12_failures(levels, model, "naive") and "never the naive loop" not in line:
            found.append(f"{model}: the naive loop failed at levels 1-2, the advice does not "
                         f"say never")
        if "large batch's memory" in line and " on " not in line:
            found.append(f"{model}: a memory share quoted without its machine")
    if facts.complete == bool(incomplete_line(facts.res)):
        found.append("the status contradicts the declared configurations")
    return found
