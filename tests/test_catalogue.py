"""The catalogue's logic against a stand-in for pip and for the equivalence command: a package
that does not install is a row that says why and the rest still run; each strategy's verdict
lands in its row; the README block is rewritten from the rows (`make catalogue` runs the real
installs and analyses)."""
from __future__ import annotations

import json
import subprocess

from bench.catalogue.entries import Entry
from bench.catalogue.report import END, START, count_line, table, update_readme
from bench.catalogue.run import catalogue


def fake_runner(calls):
    def run(cmd, **kwargs):
        calls.append(cmd)
        if "pip" in cmd:
            if "missing==1.0" in cmd:
                return subprocess.CompletedProcess(cmd, 1, "", "ERROR: No matching distribution found for missing==1.0\n")
            target = cmd[cmd.index("--target") + 1]
            (__import__("pathlib").Path(target)).mkdir(parents=True, exist_ok=True)
            return subprocess.CompletedProcess(cmd, 0, "", "")
        if "-c" in cmd:
            return subprocess.CompletedProcess(cmd, 0, "", "")
        strategy = cmd[cmd.index("--strategy") + 1]
        if strategy == "broken":
            return subprocess.CompletedProcess(cmd, 2, "", "error: strategy 'broken' raised ImportError: no\n")
        record = {"strategy": strategy, "verdict": "not equivalent", "reasons": ["summed"],
                  "levels": {"gradient": "fail", "trajectory": "pass"}}
        return subprocess.CompletedProcess(cmd, 1, json.dumps(record) + "\n", "")
    return run


def test_a_failed_install_is_a_row_and_the_others_still_run(tmp_path):
    calls = []
    entries = [Entry("gone", "x", install=("missing==1.0",), module="missing"),
               Entry("here", "y", install=("present==2.0",), module="present",
                     strategies={"as documented": "mod:ok", "other way": "broken"}),
               Entry("old", "z", install=("present==2.0",), keras="2.2")]
    rows = [r.to_json() for r in catalogue(entries, tmp_path, fake_runner(calls), say=lambda s: None)]
    assert rows[0]["status"] == "not installed" and "No matching distribution" in rows[0]["reason"]
    here = rows[1]["verdicts"]
    assert here["as documented"]["cnn"]["verdict"] == "not equivalent"
    assert "ImportError" in here["other way"]["cnn_bn"]["error"]  # one strategy's failure stays its own
    assert set(here["as documented"]) == {"cnn", "cnn_bn", "char_lm", "cnn + EMA"}
    ema = [c for c in calls if "--ema" in c]
    assert ema and all(c[c.index("--ema") + 1] == "0.9" and "cnn" in c for c in ema)
    assert rows[2]["status"] == "not judged" and "TensorFlow 1" in rows[2]["reason"]
    text = table(rows)
    assert "**not installed**" in text and "failed: strategy 'broken'" in text
    assert "not equivalent (L1/L2 ✗/✓)" in text
    # a row counts as judged where an analysis gave a verdict, not where it only installed
    broken = dict(rows[1], verdicts={"other way": rows[1]["verdicts"]["other way"]})
    assert count_line(rows, "m") == ("1 of 3 implementations judged on m; 2 not installed or "
                                     "not runnable here.")
    assert count_line([broken, rows[2]], "m") == (
        "0 of 2 implementations judged on m; 1 installed but failed in every analysis (their "
        "rows say why); 1 not installed or not runnable here.")


def test_the_readme_block_is_rewritten_from_the_rows(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{START}\nstale\n{END}\nrest\n")
    rows = [{"entry": "e", "what": "", "keras": "3", "installed": {}, "package": "", "status": "not judged",
             "reason": "because", "verdicts": {}}]
    update_readme(readme, rows)
    text = readme.read_text()
    assert "stale" not in text and "because" in text and text.endswith("rest\n")
