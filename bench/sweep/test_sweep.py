"""The sweep as pytest-benchmark benchmarks: one per configuration or analysis of the profile.

pytest-benchmark times each item's wall time (for outcome runs and analyses, which may run
beside each other, that is the time spent waiting for it); the measured figures — steady-state
throughput, peak memory per probe, accuracy, equivalence verdicts — are in `extra_info` and in
results/<profile>.jsonl. A configuration that fails is stored as a row with its status and the
sweep goes on; the benchmark then fails, so `make bench` ends non-zero — except an out-of-memory
configuration, which is a measurement ("does not fit here"), not a failure of the harness.
"""
from __future__ import annotations

import pytest

from bench.results.store import ResultsWriteError

pytestmark = pytest.mark.sweep


def _extra_info(records: list[dict]) -> dict:
    r = records[0]
    if r["kind"] == "run":
        memory = {name: m.get("peak_bytes") for name, m in (r.get("memory") or {}).items()
                  if m.get("available")}
        return {"status": r["status"], "error": r.get("error"), "seconds": r.get("seconds"),
                "throughput_samples_per_s": r.get("throughput_samples_per_s"),
                "peak_memory_bytes": memory, "final_test_accuracy": r.get("final_test_accuracy"),
                "dataset": (r.get("dataset") or {}).get("label")}
    if r["kind"] == "calibration":
        return {"status": r["status"], "median_s": r.get("median_s"), "what": r.get("what")}
    return {x["id"]["name"]: {"status": x["status"], "verdict": x["verdict"],
                              "gradient_rel_error": x.get("gradient_rel_error"),
                              "trajectory_ratio": x.get("trajectory_ratio")} for x in records}


def test_configuration(benchmark, sweep_item, sweep_session):
    if sweep_session.resumed(sweep_item):
        sweep_session.skipped += 1
        pytest.skip("finished in an earlier run (resumed from the results file)")
    benchmark.group = f"{sweep_item.model} {sweep_item.phase}"
    try:
        records = benchmark.pedantic(sweep_session.execute, args=(sweep_item,), rounds=1,
                                     iterations=1)
    except ResultsWriteError as e:  # a full disk or a read-only folder: stop, one line
        pytest.exit(str(e), returncode=3)
    benchmark.extra_info.update(_extra_info(records))
    failed = [f"{r['id']['name']}: {r['status']} — {r.get('error')}" for r in records
              if r["status"] not in ("ok", "oom")]
    assert not failed, "stored as failed rows: " + "; ".join(failed)
