"""Speed timed side by side (bench.config.speed): every configuration of a model built once in
one process and timed in shuffled rounds of blocks; ratios between blocks of one round, rerun
intervals from the spread between processes."""
from __future__ import annotations

import numpy as np
import pytest

from bench.config.run import RunConfig
from bench.config.speed import SpeedSpec
from bench.engine.measure.speed import STEAL_LIMIT, interleaved
from bench.errors import BenchError
from bench.host import clock
from bench.report.frames import from_records
from bench.report.rows import measure_rows
from bench.report.speed_ratios import block_logs, replicate_logs, round_logs
from bench.sweep.plan import expand
from bench.sweep.profiles import load_profile

PAIRS = [("large_batch", 64), ("accumulate", 16), ("plain_micro", 16)]


def _spec(process: int, rounds: int = 3) -> SpeedSpec:
    return SpeedSpec(configurations=tuple(
        RunConfig(model="cnn", strategy=s, effective_batch=64, micro=m, purpose="speed",
                  dataset="synthetic_mnist", preset="small", probes=(), round=process,
                  limit_test=64) for s, m in PAIRS), rounds=rounds, block_seconds=0.05,
        max_block_updates=8)


@pytest.fixture(scope="module")
def processes():
    """Two speed processes' records (run here one after the other)."""
    return [r for process in (1, 2) for r in interleaved(_spec(process))]


@pytest.mark.e2e
def test_every_configuration_is_timed_once_per_round_in_a_shuffled_order(processes):
    assert [r["status"] for r in processes] == ["ok"] * 6
    for process in (1, 2):
        mine = [r for r in processes if r["config"]["round"] == process]
        orders = mine[0]["interleaving"]["order"]
        assert len(orders) == 3 and all(sorted(o) == sorted(r["id"]["name"] for r in mine)
                                        for o in orders)
        for r in mine:
            assert r["id"]["name"].startswith("cnn:speed:") and len(r["blocks"]) == 3
            assert [b["round"] for b in r["blocks"]] == [0, 1, 2]
            assert [b["position"] for b in r["blocks"]] == [
                o.index(r["id"]["name"]) for o in orders]
            assert 2 <= r["block_updates"] <= 8 and len(r["seconds"]["warmup"]) == 3
            for b in r["blocks"]:
                assert len(b["seconds"]) == r["block_updates"]
                assert b["wall"] >= sum(b["seconds"]) and b["cpu"] > 0
                assert b["steal_share"] is None or b["steal_share"] >= 0
            assert r["update_seconds"] == [s for b in r["blocks"] for s in b["seconds"]]
            assert r["throughput"]["warmup_updates"] == 0
    # the order is drawn per process and round: 3! orders, 6 rounds
    drawn = [tuple(o) for r in processes[::3] for o in r["interleaving"]["order"]]
    assert len(set(drawn)) > 1


@pytest.mark.e2e
def test_ratios_come_from_blocks_of_one_round_and_intervals_from_processes(processes):
    records = [{**r, "profile": "t", "profile_digest": "d"} for r in processes]
    res = from_records(records)
    assert res.rounds == 2 and res.interleaving["rounds"] == 3
    rows = {(r.strategy, r.pair): r for r in measure_rows(res, "cnn")}
    acc, lb = rows[("accumulate", "16x4")], rows[("large_batch", "64x1")]
    assert set(acc.rounds) == {1, 2} and not acc.memory_rounds and not acc.memory
    expected = [float(np.mean([np.log(min(b["seconds"]) / min(a["seconds"]))
                                 for a, b in zip(acc.rounds[p]["blocks"], lb.rounds[p]["blocks"])]))
                for p in (1, 2)]
    assert round_logs(acc.rounds, lb.rounds) == pytest.approx(expected)
    speed = acc.speed
    assert speed.rounds == 2 and speed.low < speed.value < speed.high
    assert speed.value == pytest.approx(float(np.exp(np.mean(expected))))


@pytest.mark.e2e
def test_with_one_process_the_replicates_are_its_block_rounds(processes):
    """measure.speed_processes = 1: each round's block ratio is a replicate, their spread
    pooled over the model's ratios gives the rerun interval."""
    records = [{**r, "profile": "t", "profile_digest": "d"} for r in processes
               if r["config"]["round"] == 1]
    res = from_records(records)
    assert res.rounds == 1 and res.rerun_intervals
    rows = {(r.strategy, r.pair): r for r in measure_rows(res, "cnn")}
    acc, lb = rows[("accumulate", "16x4")], rows[("large_batch", "64x1")]
    logs, kind = replicate_logs(acc.rounds, lb.rounds)
    assert kind == "block rounds" and logs == pytest.approx(block_logs(
        acc.rounds[1]["blocks"], lb.rounds[1]["blocks"])) and len(logs) == 3
    speed = acc.speed
    assert speed.rounds == 3 and speed.low < speed.value < speed.high
    assert speed.value == pytest.approx(float(np.exp(np.mean(logs))))


def test_a_block_ratio_pairs_blocks_by_round_not_by_position():
    a = [{"round": 0, "seconds": [1.0, 1.0]}, {"round": 1, "seconds": [2.0]}]
    b = [{"round": 1, "seconds": [1.0]}, {"round": 0, "seconds": [4.0]}, {"round": 2, "seconds": [9.0]}]
    assert block_logs(a, b) == pytest.approx([np.log(4.0), np.log(0.5)])
    # a block's figure is its fastest update: one disturbed update does not move it
    calm, disturbed = [{"round": 0, "seconds": [2.0, 2.1]}], [{"round": 0, "seconds": [1.0, 5.0]}]
    assert block_logs(disturbed, calm) == pytest.approx([np.log(2.0)])


def test_a_block_during_which_another_tenant_took_the_cpu_is_timed_again(monkeypatch):
    """A steal counter that jumps during the first timed block: that block is retried and
    flagged with the share it lost; the others are not."""
    readings = iter([0.0, 1000.0])  # the first block's start and stop; then no steal

    def steal() -> float:
        return next(readings, 1000.0)
    monkeypatch.setattr(clock, "machine_steal_seconds", steal)
    records = interleaved(_spec(1, rounds=2))
    flagged = [b for r in records for b in r["blocks"] if "retried_after_steal" in b]
    assert len(flagged) == 1 and flagged[0]["retried_after_steal"] > STEAL_LIMIT
    assert sum(len(r["blocks"]) for r in records) == 3 * 2


def test_bad_speed_settings_are_refused_with_the_reason():
    with pytest.raises(BenchError, match="one model"):
        SpeedSpec(configurations=(
            RunConfig(model="cnn", strategy="large_batch", effective_batch=64, micro=64,
                      purpose="speed"),
            RunConfig(model="gmlp", strategy="large_batch", effective_batch=64, micro=64,
                      purpose="speed")))
    with pytest.raises(BenchError, match="purpose 'speed'"):
        SpeedSpec(configurations=(RunConfig(model="cnn", strategy="large_batch",
                                            effective_batch=64, micro=64),))
    with pytest.raises(BenchError, match="non-negative"):
        load_profile("default", ["measure.speed_processes=-1"])


def test_a_profile_with_speed_processes_times_every_measure_configuration_in_each():
    """measure.speed_processes = 2: per model, 2 speed items holding every measure
    configuration (a `timed_smallest_only` strategy at the smallest pair only, the CNN's
    precision and XLA variants not: `timed_variants = false`); the second
    process of every model after the first of all of them, in a worker of its own; measure runs
    stay (memory, the first update)."""
    profile = load_profile("extended", ["measure.speed_processes=2", "measure.rounds=1",
                                        "models.cnn.measure.smallest_only=['naive']"])
    items = expand(profile)
    measure = [i for i in items if i.phase == "measure"]
    speed = [i for i in items if i.phase == "speed"]
    models = len(profile.models)
    assert [i.job.spec.round for i in speed] == [1] * models + [2] * models
    assert {i.group for i in speed[models:]} == {"measure-round2"}
    assert all(i.job.exclusive for i in speed)
    timed = sorted((c.model, c.strategy, c.micro, c.precision, c.jit)
                   for i in speed[:models] for c in i.job.spec.configurations)
    variant = [i for i in measure if i.job.spec.precision != "float32" or i.job.spec.jit]
    assert variant and {i.model for i in variant} == {"cnn"}
    assert timed == sorted((i.model, i.job.spec.strategy, i.job.spec.micro,
                            i.job.spec.precision, i.job.spec.jit) for i in measure
                           if (i.job.spec.strategy != "plain_micro" or i.job.spec.micro == 16)
                           and i not in variant)
    # the CNN's precision and XLA rows: memory only, unless timed_variants
    timing = expand(load_profile("extended", ["models.cnn.measure.timed_variants=true"]))
    assert {(c.precision, c.jit) for i in timing if i.phase == "speed" and i.model == "cnn"
            for c in i.job.spec.configurations} == {("float32", False), ("mixed_float16", False),
                                                     ("float32", True)}
    assert {i.job.spec.micro for i in measure if i.job.spec.strategy == "plain_micro"} == {
        64, 32, 16}
    assert {i.job.spec.micro for i in measure if i.job.spec.strategy == "naive"} == {16}
    # spread over the sweep: the first processes before everything, the last after everything
    first, last = speed[:models], speed[models:]
    assert max(map(items.index, first)) < min(map(items.index, measure))
    assert min(map(items.index, last)) > max(items.index(i) for i in items
                                              if i.phase == "equivalence")
    three = expand(load_profile("default"))
    rounds = [[items_.job.spec.round for items_ in three if items_.phase == "speed"]]
    assert rounds == [[1] * 6 + [2] * 6 + [3] * 6]
    position = {i.id: n for n, i in enumerate(three)}
    phase_at = lambda n: three[n].phase  # noqa: E731
    middle = [position[i.id] for i in three if i.phase == "speed" and i.job.spec.round == 2]
    assert phase_at(min(middle) - 1) == "measure" and phase_at(max(middle) + 1) == "equivalence"


def test_untimed_strategies_keep_their_memory_runs_and_a_model_may_have_levels_1_2_only():
    """The default profile times the large batch and the harness's accumulation only
    (`measure.untimed`); every strategy's memory is still read; the GRN/VSN, with no measure
    strategies, gets its equivalence analyses and no speed or memory items."""
    items = expand(load_profile("default"))
    speed = [i for i in items if i.phase == "speed"]
    measure = [i for i in items if i.phase == "measure"]
    assert {c.strategy for i in speed for c in i.job.spec.configurations} == {
        "large_batch", "accumulate"}
    assert {c.micro for i in speed for c in i.job.spec.configurations
            if c.strategy == "accumulate"} == {64, 32, 16}
    assert {i.job.spec.strategy for i in measure} == {
        "large_batch", "accumulate", "keras_builtin", "naive", "plain_micro"}
    assert "grn_vsn" not in {i.model for i in speed + measure}
    assert "grn_vsn" in {i.model for i in items if i.phase == "equivalence"}
    with pytest.raises(BenchError, match="against it"):
        load_profile("default", ["measure.untimed=['large_batch']"])
