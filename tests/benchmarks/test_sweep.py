"""The sweep as pytest-benchmark benchmarks: one per isolated configuration or analysis.

pytest-benchmark times each configuration's whole isolated process (start, data, tracing,
training, evaluation); the measured figures — steady-state throughput, peak memory per probe,
accuracy, equivalence verdicts — are in `extra_info` (and in results/<profile>.jsonl).
"""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.sweep


def _extra_info(records: list[dict]) -> dict:
    r = records[0]
    if r["kind"] == "run":
        memory = {name: m.get("peak_bytes") for name, m in r.get("memory", {}).items()
                  if m.get("available")}
        return {"status": r["status"], "error": r.get("error"),
                "throughput_samples_per_s": r.get("throughput_samples_per_s"),
                "peak_memory_bytes": memory, "final_test_accuracy": r.get("final_test_accuracy"),
                "dataset": r.get("dataset", {}).get("label"),
                "device": r.get("environment", {}).get("device")}
    return {f"{x['strategy']} {x['pair']} {x['dtype']} {x['lr_schedule']}":
            {"verdict": x["verdict"], "gradient_rel_error": x.get("gradient_rel_error"),
             "trajectory_ratio": x.get("trajectory_ratio")} for x in records}


def test_configuration(benchmark, sweep_item, sweep_session):
    if sweep_session.finished(sweep_item):
        pytest.skip("finished in an earlier run (resumed from the results file)")
    benchmark.group = sweep_item.model
    records = benchmark.pedantic(sweep_session.execute, args=(sweep_item,), rounds=1, iterations=1)
    benchmark.extra_info.update(_extra_info(records))
