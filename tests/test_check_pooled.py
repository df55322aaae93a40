"""The pooled speed gates (bench.report.pooled) at their edges, on real quick runs: a strategy
slower everywhere, a model slower everywhere; on the baseline's own machine and across
identities."""
from __future__ import annotations

import copy
import re

import pytest

from bench.cli import main
from bench.results import store
from tests.test_check_across_machines import AVX512_F26, BASELINES, _baseline_run


@pytest.fixture(scope="module")
def records():
    return store.read_records(_baseline_run())


def _slower(records, factor, **match):
    """A copy whose measure runs matching `match` (every round) take `factor` times as long."""
    doctored = copy.deepcopy(records)
    for r in doctored:
        c = r.get("config") or {}
        if (r["kind"] == "run" and c.get("purpose") == "measure"
                and all(c.get(k) == v for k, v in match.items())):
            r["update_seconds"] = [factor * s for s in r["update_seconds"]]
    return doctored


def _check(tmp_path, capsys, records, *extra) -> tuple[int, str]:
    store.rewrite(tmp_path / "current.jsonl", records)
    code = main(["check", "--baseline", str(BASELINES), "--current",
                 str(tmp_path / "current.jsonl"), "--verbose", *extra])
    return code, capsys.readouterr().out


def _pooled(out: str, group: str) -> tuple[float, float]:
    """(current, limit) of the pooled finding of `group` ("strategy accumulate", "model cnn")."""
    line = next(x for x in out.splitlines() if x.startswith(group + " "))
    current, limit = re.search(r"(\d+\.\d+)x\s+<= (\d+\.\d+)x", line).groups()
    return float(current), float(limit)


def _last(out: str) -> str:
    return out.splitlines()[-1]


@pytest.mark.parametrize("strategy", ["accumulate", "keras_builtin", "naive"])
def test_one_strategy_1_3x_slower_everywhere_is_caught(tmp_path, capsys, records, strategy):
    code, out = _check(tmp_path, capsys, _slower(records, 1.3, strategy=strategy))
    assert code == 1 and f"strategy {strategy} [pooled speed" in _last(out), out
    # no single configuration's gate saw it: the pooled gate did
    assert "[median update time]" not in _last(out)


@pytest.mark.parametrize("group,match", [
    ("strategy accumulate", {"strategy": "accumulate"}),
    ("strategy large_batch", {"strategy": "large_batch"}),
    ("model cnn", {"model": "cnn"}),
    ("model grn_vsn", {"model": "grn_vsn"}),
])
def test_a_pooled_gate_fires_just_past_its_limit_and_not_inside(tmp_path, capsys, records, group,
                                                                 match):
    code, out = _check(tmp_path, capsys, records)
    assert code == 0, out
    clean, limit = _pooled(out, group)
    for factor, fires in ((1.02 * limit / clean, True), (0.98 * limit / clean, False)):
        code, out = _check(tmp_path, capsys, _slower(records, factor, **match))
        current, _ = _pooled(out, group)
        assert current == pytest.approx(clean * factor, rel=0.01)  # shown to 2 decimals
        assert (code == 1) == fires and (f"{group} [pooled" in _last(out)) == fires, out


def test_across_identities_a_strategy_1_6x_slower_is_caught(tmp_path, capsys):
    """Across identities the strategies' relative speeds differ by the CPU (up to 1.38x between
    the AVX2 core and family 25): the limit is wider, and a clean run of another core passes."""
    records = store.read_records(AVX512_F26)  # an older profile digest: accepted, still listed
    code, out = _check(tmp_path, capsys, records, "--accept-changes")
    assert code == 0, out
    code, out = _check(tmp_path, capsys, _slower(records, 1.6, strategy="accumulate"),
                       "--accept-changes")
    assert code == 1 and "strategy accumulate [pooled speed" in _last(out), out
