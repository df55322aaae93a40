"""Profiles are data; the sweep expands, runs, resumes and retries; the report and the
regression check read stored results only — and every gate of the check fires on a doctored
copy of a real run and stays quiet on the run itself."""
from __future__ import annotations

import copy
import dataclasses
import json
import signal
import subprocess
import sys

import pytest

from bench.cli import main
from bench.commands.sweep_cmd import command as sweep_command
from bench.errors import BenchError
from bench.report.baseline import combine, load_summary, summarise
from bench.report.check import Tolerances, compare
from bench.report.gates import mann_whitney_greater
from bench.results import store
from bench.sweep.plan import expand
from bench.sweep.profiles import available_profiles, load_profile
from tests.helpers import ROOT
from tests.mini_sweep import run_once


def test_the_sweeps_controller_and_the_report_never_import_tensorflow():
    """Every profile expands and validates, and reports and checks are built, in a process
    where TensorFlow never gets imported (a regression costs every sweep 7-8 s of start-up)."""
    code = ("import sys\n"
            "from bench.sweep.plan import expand\n"
            "from bench.sweep.profiles import available_profiles, load_profile\n"
            "import bench.sweep.plugin, bench.sweep.session, bench.report.build, bench.report.check\n"
            "n = sum(len(expand(load_profile(p))) for p in available_profiles())\n"
            "print(n, sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    count, imported = out.stdout.split(" ", 1)
    assert int(count) > 100 and imported.strip() == "[]", out.stdout


def test_profiles_load_and_expand():
    assert {"quick", "default", "study", "full"} <= set(available_profiles())
    default = expand(load_profile("default"))
    phases = [i.phase for i in default]
    assert phases[0] == phases[-1] == "calibrate"
    measure = [i for i in default if i.phase == "measure"]
    speed = [i for i in default if i.phase == "speed"]
    # memory, one process per configuration: per model the large batch, accumulation and plain
    # training at every pair (64, 32, 16) and Keras' built-in at 16x8; the CNN also the blog
    # loop, and the large batch and accumulation in mixed_float16 and XLA; the GRN/VSN none
    # (levels 1-2 only)
    measured = [m for m in load_profile("default").models if m != "grn_vsn"]
    assert len(measure) == len(measured) * (1 + 3 + 3 + 1) + 1 + 4
    assert {i.job.spec.micro for i in measure if i.model == "gmlp"} == {128, 64, 32, 16}
    assert {i.job.spec.round for i in measure} == {1}
    # speed, side by side: three processes per measured model, the large batch and the
    # harness's accumulation at every pair (the others are `measure.untimed`); every model's
    # first process before the memory runs, its second after them, its third at the end
    assert [i.model for i in speed] == measured * 3
    assert [i.job.spec.configurations[0].round for i in speed] == [
        p for p in (1, 2, 3) for _ in measured]
    assert all(c.precision == "float32" and not c.jit for i in speed
               for c in i.job.spec.configurations)
    timed = {(c.strategy, c.micro) for i in speed if i.model == "gmlp"
             for c in i.job.spec.configurations}
    assert timed == {("large_batch", 128), ("accumulate", 64), ("accumulate", 32),
                     ("accumulate", 16)}
    assert all(i.job.spec.rounds >= 10 for i in speed)
    first_measure = phases.index("measure")
    assert all(phases[n] == "speed" for n in range(1, first_measure))
    assert phases[-2] == "speed" and phases.index("equivalence") > first_measure
    assert all(i.job.exclusive for i in measure + speed) and not any(
        i.job.exclusive for i in default if i.phase in ("outcome", "equivalence"))
    assert not any(i.phase == "outcome" for i in default)  # level 3: the study profile
    eq = [i.id for i in default if i.phase == "equivalence"]
    assert "cnn:equivalence:exponential-lr" in eq and "cnn:equivalence:mixed_float16" in eq
    assert "cnn:equivalence:xla" in eq and "cnn:equivalence:ema-0.9" in eq
    assert "char_lm:equivalence:float32" in eq
    assert "cnn:equivalence:partial-window" in eq
    assert len(eq) == 7 * 2 + 4 + 1 - 1  # cnn: pitfall, XLA, EMA, partial window; cnn_bn: float32
    study = load_profile("study")
    assert study.models["cnn"].outcome.seeds == (0, 1, 2, 3, 4)
    assert study.models["cnn"].outcome.epochs == 5 and study.models["cnn"].micros == (256, 64, 16)
    assert not any(i.phase == "measure" for i in expand(study))
    assert load_profile("full").models["grn_vsn"].micros == (265, 53)


def test_identity_is_stable_and_one_per_configuration():
    items = expand(load_profile("default"))
    keys = [k for i in items for k in i.keys]
    assert len(keys) == len(set(keys))
    again = [k for i in expand(load_profile("default")) for k in i.keys]
    assert keys == again
    changed = [k for i in expand(load_profile("default", ["measure.updates=30"])) for k in i.keys]
    measured = sum(i.phase == "measure" for i in items)
    assert len(set(keys) - set(changed)) == measured  # only the measure runs changed


def test_profile_overrides_and_errors():
    p = load_profile("quick", ["defaults.effective_batch=64", "models.cnn.outcome.seeds=[0, 1, 2]",
                               "models.gmlp.dataset=synthetic_cifar100", "equivalence.updates=4"])
    assert p.models["cnn"].effective_batch == 64 and p.models["cnn"].outcome.seeds == (0, 1, 2)
    assert p.models["gmlp"].dataset == "synthetic_cifar100"
    assert p.models["gmlp"].equivalence.updates == 4
    assert p.digest() != load_profile("quick").digest()
    for args, message in [(("nope",), "unknown profile 'nope'"),
                          (("quick", ["defaults.colour=3"]), "unknown setting"),
                          (("quick", ["measure.speed=3"]), "unknown setting.*known: .*updates"),
                          (("quick", ["models.cnn.effective_batch=63"]), "not divisible"),
                          (("quick", ["epochs"]), "not KEY=VALUE"),
                          (("quick", ["outcome.margin=3"]), "margin"),
                          (("quick", ["outcome.strategies=['accumulate']"]), "include large_batch")]:
        with pytest.raises(BenchError, match=message):
            expand(load_profile(*args))
    with pytest.raises(BenchError, match="has no model"):
        expand(load_profile("quick"), ["resnet"])


def test_profile_from_a_file(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('[defaults]\neffective_batch = 32\nsmallest_fraction = 2\n'
                    '[measure]\nstrategies = ["large_batch", "accumulate"]\nreferences = []\n'
                    '[models.cnn]\n')
    items = expand(load_profile(str(path)))
    assert [i.id for i in items] == ["calibration:start", "cnn:large_batch:32x1:seed0",
                                     "cnn:accumulate:16x2:seed0", "calibration:end"]


def test_mann_whitney_is_one_sided_and_detects_a_shift():
    base = [1.0, 1.1, 0.9, 1.05, 0.95, 1.02, 0.98]
    assert mann_whitney_greater([2 * x for x in base], base) < 0.01
    assert mann_whitney_greater(base, [2 * x for x in base]) > 0.99
    assert mann_whitney_greater(base, base) > 0.3


@pytest.fixture(scope="session")
def mini_sweep(tmp_path_factory, worker_id):
    """The mini sweep of tests/mini_sweep.py, run once per test session (under xdist the
    controller starts it in the background as soon as the workers have collected)."""
    base = tmp_path_factory.getbasetemp()
    root = base if worker_id == "master" else base.parent  # shared by the workers
    out = run_once(root)
    saved = json.loads((out / "done.json").read_text())
    first, second = (subprocess.CompletedProcess([], *saved[k], "") for k in ("first", "second"))
    return out, out / "results.jsonl", first, second, saved["records"]


@pytest.fixture(scope="session")
def mini_sweep_interrupts(mini_sweep):
    out = mini_sweep[0]
    saved = json.loads((out / "done.json").read_text())
    return saved["interrupts"], saved["interrupted_records"], saved["records"]


@pytest.mark.e2e
def test_interrupts_leave_no_process_and_lose_nothing_finished(mini_sweep_interrupts):
    interrupts, interrupted, records = mini_sweep_interrupts
    for i in interrupts:
        # sweep -> pytest -> fork server -> job(s): all gone within 10 s, whatever the signal
        assert i["processes_when_sent"] >= 4 and i["left_running"] == [], i
        if i["signal"] != "SIGKILL":
            assert i["returncode"] == 128 + signal.Signals[i["signal"]], i["output"]
            assert "run the same command again to resume" in i["output"], i["output"]
            assert "Traceback" not in i["output"]
    # nothing half-done was stored: every record an interrupted sweep left is a finished one
    assert all(r["status"] == "ok" for r in interrupted if r["kind"] in ("run", "calibration"))
    sessions = [r for r in interrupted if r["kind"] == "session"]
    # SIGKILL of the sweep reaches its pytest as SIGTERM (PR_SET_PDEATHSIG): it too stops in order
    assert [s["interrupted"] for s in sessions] == [True, True, True]
    # resuming completed the sweep with every configuration recorded exactly once
    plan = next(r for r in records if r["kind"] == "plan")
    declared = sorted(c["key"] for item in plan["items"] for c in item["configurations"]
                      if item["id"].startswith(("cnn:", "calibration:")))  # --only-models cnn
    stored = sorted(store.record_key(r) for r in records
                    if r["kind"] in ("run", "calibration", "equivalence"))
    assert stored == declared


@pytest.mark.e2e
def test_sweep_runs_records_and_resumes(mini_sweep):
    out, results, first, second, records = mini_sweep
    assert first.returncode == 0, first.stdout[-3000:]
    assert "[17/17] calibration:end" in first.stdout and "left" in first.stdout
    kinds = [r["kind"] for r in records]
    assert kinds[0] == "plan" and kinds.count("session") == 4 and kinds.count("calibration") == 2
    runs = [r for r in records if r["kind"] == "run"]
    assert len(runs) == 2 * 5 + 4 and all(r["status"] == "ok" for r in runs)
    measured = [r["id"]["name"] for r in runs if r["config"]["purpose"] == "measure"]
    assert measured[5:] == [n + ":round2" for n in measured[:5]]  # round 2 after all of round 1
    assert {r["threads"] for r in runs if r["config"]["purpose"] == "outcome"} == {1}
    assert {r["threads"] for r in runs if r["config"]["purpose"] == "measure"} == {None}
    assert {r["strategy"] for r in records if r["kind"] == "equivalence"} == {
        "accumulate", "keras_builtin", "naive"}
    assert all(r["profile"] == "quick" and r["attempt"] == 1 for r in runs)
    bench_json = json.loads((out / "bench.json").read_text())
    extra = {b["name"]: b["extra_info"] for b in bench_json["benchmarks"]}
    assert extra["test_configuration[calibration:end]"]["median_s"] > 0
    assert all(e["throughput_samples_per_s"] > 0 for e in extra.values() if "seconds" in e)
    assert bench_json["machine_info"]["accumbench_cpu_allocator"] == "bfc"
    # the second run resumed: everything skipped, nothing new but the plan
    assert "17 skipped" in second.stdout
    assert len(store.read(results)) == len(records)


@pytest.mark.e2e
def test_report_from_stored_results(mini_sweep, tmp_path):
    _, results, _, _, _ = mini_sweep
    assert main(["report", "--results", str(results), "--out", str(tmp_path)]) == 0
    readme = (tmp_path / "README.md").read_text()
    first_screen = readme.split("## cnn")[0]
    assert "| **cnn**" in first_screen and "L3 outcome" in first_screen
    assert "Keras' built-in accumulation" in first_screen and "naive blog loop" in first_screen
    assert "Sweep**:" in first_screen and "training (timed updates + evaluation)" in first_screen
    assert "| 16x8" in readme and "Fashion-MNIST (real" in readme
    assert "not available" in readme  # the GPU probe says why not
    assert "only 1/8 of the samples" in readme
    for name in ("speed.png", "memory.png", "level1.png", "level2.png", "curves.png",
                 "outcome.png", "summary.csv", "outcome.csv", "runs.csv", "equivalence.csv",
                 "results.jsonl.gz"):
        assert (tmp_path / name).stat().st_size > 0, name
    # the compressed copy rebuilds the same report
    again = tmp_path / "again"
    assert main(["report", "--results", str(tmp_path / "results.jsonl.gz"), "--out", str(again)]) == 0
    assert (again / "README.md").read_text() == readme


# -- the regression check, gate by gate ----------------------------------------------------------
def _slower(records, factor, strategy=None):
    """A copy whose measure runs (of one strategy, or all) take `factor` times as long."""
    doctored = copy.deepcopy(records)
    for r in doctored:
        if r["kind"] == "run" and strategy in (None, r["config"]["strategy"]):
            r["update_seconds"] = [factor * s for s in r["update_seconds"]]
    return doctored


def _doctor(records, what):
    doctored = copy.deepcopy(records)
    runs = {r["id"]["name"]: r for r in doctored if r["kind"] == "run"}
    if what == "slower":
        doctored = _slower(records, 2)
    elif what == "accumulation slower":
        doctored = _slower(records, 2, "accumulate")
    elif what == "lost saving":  # in every round (the check reads the lowest round's peak)
        lb = runs["cnn:large_batch:128x1:seed0"]["memory"]["tf_allocator"]["peak_bytes"]
        for name in ("cnn:accumulate:16x8:seed0", "cnn:accumulate:16x8:seed0:round2"):
            runs[name]["memory"]["tf_allocator"]["peak_bytes"] = lb
    elif what == "drift":
        for r in doctored:
            if r["kind"] == "equivalence" and r["strategy"] == "accumulate":
                r["gradient_rel_error"] *= 10  # still far under the 1e-5 tolerance
                assert r["gradient_rel_error"] < 1e-5
    elif what == "failed":
        runs["cnn:keras_builtin:16x8:seed0"].update(status="error", error="doctored")
    elif what.startswith("another machine"):
        # 3x slower: every step, the calibration step too; code 2x slower: the runs only
        doctored = _slower(records, 3 if what.endswith("3x slower") else 2)
        for r in doctored:
            _another_machine(r)
            if r["kind"] == "calibration" and what.endswith("3x slower"):
                r["step_seconds"] = [3 * s for s in r["step_seconds"]]
    return doctored


def _another_machine(record):
    """The record as if made on a core of the same name, one CPU generation apart."""
    if (record.get("environment") or {}).get("machine"):
        identity = record["environment"]["machine"]
        identity["cpu"]["family"] += 1
        identity["id"] = "another"


@pytest.mark.e2e
@pytest.mark.parametrize("what,cause", [
    ("slower", "median update time"),
    ("accumulation slower", "speed / large batch"),
    ("lost saving", "peak / large batch [tf_allocator]"),
    ("drift", "L1 gradient error"),
    ("failed", "status"),
])
def test_each_gate_fires_on_a_doctored_run(mini_sweep, tmp_path, capsys, what, cause):
    _, results, _, _, records = mini_sweep
    store.rewrite(tmp_path / "doctored.jsonl", _doctor(records, what))
    code = main(["check", "--baseline", str(results), "--current", str(tmp_path / "doctored.jsonl")])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "that fail the check" in out and f"[{cause}]" in out.splitlines()[-1], out


@pytest.mark.e2e
@pytest.mark.parametrize("what", [None, "another machine, 3x slower",
                                  "another machine, code 2x slower"])
def test_the_check_stays_quiet_on_the_run_itself_and_says_what_another_machine_skips(
        mini_sweep, tmp_path, capsys, what):
    """Across machine identities speed and memory are not gated (a slower harness there is not
    told apart from a CPU generation), and the output says so; the rest still is."""
    _, results, _, _, records = mini_sweep
    current = records if what is None else _doctor(records, what)
    store.rewrite(tmp_path / "current.jsonl", current)
    code = main(["check", "--baseline", str(results), "--current", str(tmp_path / "current.jsonl")])
    out = capsys.readouterr().out
    assert code == 0, out
    if what is None:
        assert "same machine identity: speed as update times / the calibration step" in out
        assert "not compared" not in out
    else:
        assert "machine identities differ: CPU family" in out
        assert "NOT compared: speed of" in out and "not compared: another machine identity" in out


@pytest.mark.e2e
def test_across_machines_the_machine_independent_gates_still_fire(mini_sweep, tmp_path, capsys):
    _, results, _, _, records = mini_sweep
    doctored = _doctor(_doctor(records, "drift"), "another machine, 3x slower")
    store.rewrite(tmp_path / "current.jsonl", doctored)
    code = main(["check", "--baseline", str(results), "--current", str(tmp_path / "current.jsonl")])
    out = capsys.readouterr().out
    assert code == 1 and "[L1 gradient error]" in out.splitlines()[-1], out


@pytest.mark.e2e
def test_check_outcome_accuracy_allows_for_the_test_set_size(mini_sweep):
    _, results, _, _, records = mini_sweep
    base = summarise(records, "base")
    name = next(n for n, c in base["configurations"].items()
                if c["kind"] == "run" and c["purpose"] == "outcome")
    small, large = copy.deepcopy(base), copy.deepcopy(base)
    small["configurations"][name]["runs"][0]["accuracy"] -= 0.08  # 200 test samples: noise
    large["configurations"][name]["runs"][0]["accuracy"] -= 0.30
    gate = lambda cur: [f for f in compare(base, cur) if f.metric == "test accuracy"  # noqa: E731
                        and f.configuration == name][0].result
    assert gate(small) == "ok" and gate(large) == "REGRESSION"


@pytest.mark.e2e
def test_check_refuses_other_profiles_and_marks_changed_settings(mini_sweep, tmp_path, capsys):
    _, results, _, _, records = mini_sweep
    base = summarise(records, "base")
    changed = copy.deepcopy(base)
    name = next(iter(changed["configurations"]))
    changed["configurations"][name]["key"] = "0" * 16
    assert any(f.result == "not comparable" and f.configuration == name
               for f in compare(base, changed))
    other = dict(base, profile="default")
    (tmp_path / "other.json").write_text(json.dumps(other))
    assert main(["check", "--baseline", str(tmp_path / "other.json"), "--current", str(results)]) == 2
    assert "from profile 'default'" in capsys.readouterr().err


@pytest.mark.e2e
def test_a_baseline_of_several_runs_allows_their_spread_and_fires_beyond_it(mini_sweep, tmp_path,
                                                                          capsys):
    """A noisy configuration: one clean run timed accumulation 1.4x slower than another. A run
    1.6x slower is within what the two runs showed (a one-run baseline fires on it); 2.5x is not."""
    _, results, _, _, records = mini_sweep
    store.rewrite(tmp_path / "noisy.jsonl", _slower(records, 1.4, "accumulate"))
    assert main(["check", "--current", str(results), str(tmp_path / "noisy.jsonl"),
                 "--write-baseline", str(tmp_path / "base.json")]) == 0
    assert "2 run(s)" in capsys.readouterr().out
    base = load_summary(tmp_path / "base.json")

    def ratio_gate(baseline, factor):
        """The results of the ratio gate for the accumulating runs."""
        current = summarise(_slower(records, factor, "accumulate"), "current")
        return {f.result for f in compare(baseline, current) if f.metric == "speed / large batch"
                and current["configurations"][f.configuration]["strategy"] == "accumulate"}

    assert ratio_gate(summarise(records, "one run"), 1.6) == {"REGRESSION"}
    assert ratio_gate(base, 1.6) == {"ok"}
    assert ratio_gate(base, 2.5) == {"REGRESSION"}
    store.rewrite(tmp_path / "current.jsonl", _slower(records, 2.5, "accumulate"))
    code = main(["check", "--baseline", str(results), str(tmp_path / "noisy.jsonl"),
                 "--current", str(tmp_path / "current.jsonl")])
    out = capsys.readouterr().out
    assert code == 1 and "allocator [identity " in out and "; 2 run(s) (" in out, out


@pytest.mark.e2e
def test_a_baseline_combines_only_runs_of_one_machine_and_one_profile(mini_sweep):
    _, _, _, _, records = mini_sweep
    other = copy.deepcopy(records)
    for r in other:
        _another_machine(r)
    with pytest.raises(BenchError, match="one profile on one machine"):
        combine([summarise(records, "a"), summarise(other, "b")])
    two = combine([summarise(records, "a"), summarise(records, "b")])
    with pytest.raises(BenchError, match="one run at a time"):
        compare(two, two)
    three = combine([two, summarise(records, "c")])  # a baseline takes one more run
    assert three["sources"] == ["a", "b", "c"] and len(three["calibration_seconds"]) == 3
    assert all(len(c["runs"]) == 3 for c in three["configurations"].values())


def test_unknown_profile_in_pytest_is_a_usage_error():
    out = subprocess.run(sweep_command("nope", "x.jsonl", ["--collect-only"]), cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 4 and "unknown profile 'nope'" in out.stderr


def test_baseline_file_errors(tmp_path):
    (tmp_path / "b.json").write_text("{not json")
    with pytest.raises(BenchError, match="not valid JSON"):
        load_summary(tmp_path / "b.json")
    (tmp_path / "c.json").write_text('{"a": 1}')
    with pytest.raises(BenchError, match="not an accumbench baseline"):
        load_summary(tmp_path / "c.json")
    (tmp_path / "d.json").write_text('{"profile": "quick", "configurations": {}, "schema": 1}')
    with pytest.raises(BenchError, match="re-create it"):
        load_summary(tmp_path / "d.json")
    assert Tolerances().speed_same > 1


@pytest.mark.e2e
def test_a_rerun_lands_inside_the_rerun_intervals_unless_it_moved(mini_sweep, tmp_path, capsys):
    _, results, _, _, records = mini_sweep
    code = main(["coverage", "--first", str(results), "--second", str(results)])
    out = capsys.readouterr().out
    assert code == 0 and "rerun intervals (2 rounds)" in out and "coverage 100%" in out, out
    store.rewrite(tmp_path / "moved.jsonl", _slower(records, 5, "accumulate"))
    code = main(["coverage", "--first", str(results), "--second", str(tmp_path / "moved.jsonl"),
                 "--verbose"])
    out = capsys.readouterr().out
    moved = [line for line in out.splitlines() if "accumulate 16x8" in line
             and ("speed" in line or "accumulation" in line)]  # not plain/large batch
    assert code == 0 and moved and all("OUTSIDE" in line for line in moved), out
    # recorded: the README's table and the report's paragraph are rendered from the record
    readme = tmp_path / "README.md"
    readme.write_text("# x\n<!-- accumbench:coverage:start (generated by `python -m bench "
                      "coverage --record reports/coverage.json`; do not edit by hand) -->\nstale"
                      "\n<!-- accumbench:coverage:end -->\ntail\n")
    record = tmp_path / "coverage.json"
    for _ in range(2):  # a repeat replaces its measurement
        assert main(["coverage", "--first", str(results), "--second", str(results),
                     "--record", str(record), "--summary", str(readme)]) == 0
    entries = json.loads(record.read_text())
    assert len(entries) == 1 and entries[0]["coverage"] == 1.0 and entries[0]["machine"]
    text = readme.read_text()
    assert "stale" not in text and "100% (" in text and entries[0]["machine"] in text
    assert text.endswith("tail\n")
    capsys.readouterr()
    assert main(["coverage", "--first", str(results), "--second", str(results),
                 "--summary", str(readme)]) == 2
    assert "give both" in capsys.readouterr().err


def test_a_profile_sends_keras2_strategies_to_the_keras2_lane(tmp_path, monkeypatch):
    (tmp_path / "k2code.py").write_text("def loop(model, optimizer, loss, accum_steps):\n"
                                        "    return None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    p = load_profile("quick", ['equivalence.keras2_strategies=["k2code:loop"]'])
    lanes = [i for i in expand(p, ["cnn"]) if i.id == "cnn:equivalence:keras2"]
    assert len(lanes) == 1
    req = lanes[0].job.spec
    assert req.keras == 2 and req.strategies == ("k2code:loop",) and req.dtype == "float32"
    plan = req.combinations()[0][1]
    as_keras3 = dataclasses.replace(req, keras=3)  # the same code judged as Keras 3 is another record
    assert req.identity("k2code:loop", plan).key != as_keras3.identity("k2code:loop", plan).key


def test_settings_added_later_leave_the_committed_digests_as_they_were():
    """The quick baseline and the default report were made before `keras2_strategies` existed:
    left at its default, it does not change the profiles' digests; set, it does."""
    baseline = json.loads(next((ROOT / "bench/baselines/quick").glob("*.json")).read_text())
    assert load_profile("quick").digest() == baseline["profile_digest"]
    assert load_profile("quick", ['equivalence.keras2_strategies=["a:b"]']).digest() != \
        baseline["profile_digest"]
