"""No measurement is typed by hand: every measured figure in README.md and in the report's
sentences is rendered from records. A figure here is a number with a unit a measurement
carries (s, min, MiB, %, ×, samples/s, points) or a count "N of M". Generated blocks, code
(fenced or inline: commands, settings and the code's own constants) and the confidence level
of an interval are not measurements."""
from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.helpers import ROOT

UNITS = (r"ms|µs|s|sec|seconds?|min|minutes?|h|hours?|KiB|MiB|GiB|KB|MB|GB|%|×|x|"
         r"samples/s|points?|pts")
FIGURE = re.compile(
    rf"(?<![\w.\-])\d[\d,]*(?:\.\d+)?(?:\s?[–-]\s?\d[\d,]*(?:\.\d+)?)?\s?(?:{UNITS})(?![\w/])"
    r"|\b\d+ of \d+\b")
#: not measurements: the confidence level an interval is stated at
ALLOWED = re.compile(r"95%(, one process| (\*{1,2})?(rerun\*{0,2}( intervals?)?|t-intervals?|(bootstrap )?intervals?))")
GENERATED = re.compile(r"<!-- accumbench:([\w:-]+):start.*?<!-- accumbench:\1:end -->", re.S)
FENCED = re.compile(r"```.*?```", re.S)
INLINE = re.compile(r"`[^`\n]*`")


def typed_figures(text: str) -> list[tuple[int, str]]:
    """(line, figure) for every figure outside generated blocks, code and allowed phrases."""
    blank = lambda m: "\n" * m.group(0).count("\n")  # noqa: E731 (keep line numbers)
    text = FENCED.sub(blank, GENERATED.sub(blank, text))
    found = []
    for number, line in enumerate(text.split("\n"), 1):
        line = ALLOWED.sub("", INLINE.sub("", line))
        found += [(number, m.group(0)) for m in FIGURE.finditer(line)]
    return found


def template_figures(path: Path) -> list[tuple[int, str]]:
    """Figures in a module's string literals (an f-string's literal parts included), its
    docstrings aside: what the report writes around the values it renders."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, m.group(0)) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings
            for m in FIGURE.finditer(ALLOWED.sub("", INLINE.sub("", node.value)))]


def test_the_scanner_finds_what_a_hand_types():
    typed = "It took 6 min 14 s, 1.2× faster, 52 MiB, 91% (52 of 57), 3,065 samples/s, +0.5 points."
    assert [f for _, f in typed_figures(typed)] == [
        "6 min", "14 s", "1.2×", "52 MiB", "91%", "52 of 57", "3,065 samples/s", "0.5 points"]
    assert [f for _, f in typed_figures("coverage 95% (54 of 57)")] == ["95%", "54 of 57"]
    assert typed_figures("pairs 128×1 and 16x8, k = 8, 1e-5, a 95% interval, `timeout = 600 s`, "
                         "<!-- accumbench:t:start x -->\n8 min\n<!-- accumbench:t:end -->") == []


def test_the_readme_types_no_measurement():
    found = typed_figures((ROOT / "README.md").read_text())
    assert not found, f"README.md types measured figures by hand (render them from records): {found}"


def test_the_report_templates_type_no_measurement():
    modules = [*sorted((ROOT / "bench/report").glob("*.py")), ROOT / "bench/catalogue/report.py"]
    found = {str(p.relative_to(ROOT)): f for p in modules if (f := template_figures(p))}
    assert not found, f"the report's sentences type measured figures: {found}"
