"""Machine identity: two cores that share a name are told apart; an unknown identity is never
"the same machine"."""
from __future__ import annotations

import pytest

from bench.report import baseline, frames
from bench.results import machine, store
from tests.helpers import ROOT

DATA = ROOT / "tests" / "data" / "runs"


def _cpuinfo(family: int, model: int, flags: str) -> dict[str, str]:
    return machine.parse_cpuinfo(
        f"processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: {family}\nmodel\t\t: {model}\n"
        f"model name\t: AMD EPYC\nstepping\t: 1\nsiblings\t: 2\ncpu cores\t: 2\n"
        f"flags\t\t: {flags}\n\nprocessor\t: 1\nvendor_id\t: other\n")


def _flags_of_the_shared_avx512_machine() -> str:
    """The flags line of the AVX-512 machine's lscpu output (CPU family 26)."""
    text = (DATA / "cpu.amd-epyc-f26-avx512.txt").read_text()
    return next(line.split(":", 1)[1] for line in text.splitlines() if line.startswith("flags"))


AVX2_FLAGS = "fpu sse4_2 avx f16c fma avx2 bmi2"


def test_two_cores_of_one_name_are_two_identities():
    avx512 = machine.machine_identity("bfc", cpuinfo=_cpuinfo(26, 2, _flags_of_the_shared_avx512_machine()))
    avx2 = machine.machine_identity("bfc", cpuinfo=_cpuinfo(25, 1, AVX2_FLAGS))
    assert avx512["cpu"]["model_name"] == avx2["cpu"]["model_name"] == "AMD EPYC"
    assert {"avx512f", "avx512_bf16", "avx512_vnni"} <= set(avx512["cpu"]["isa"])
    assert "avx512f" not in avx2["cpu"]["isa"] and "avx2" in avx2["cpu"]["isa"]
    assert avx512["id"] != avx2["id"]
    diffs = machine.differences(avx2, avx512)
    assert "CPU family 25 vs 26" in diffs
    assert any(d.startswith("instruction set vs +avx512") for d in diffs), diffs
    assert machine.label(avx512).startswith("AMD EPYC (family 26 model 2, AVX-512: ")
    assert machine.label(avx2) == "AMD EPYC (family 25 model 1, AVX2), 2 cores"
    assert machine.slug(avx2) == f"amd-epyc-f25m1-avx2-2c-{avx2['id']}"


def test_the_same_identity_and_what_else_tells_machines_apart(monkeypatch):
    info = _cpuinfo(25, 1, AVX2_FLAGS)
    a = machine.machine_identity("bfc", cpuinfo=info)
    assert machine.differences(a, machine.machine_identity("bfc", cpuinfo=info)) == []
    assert machine.differences(a, machine.machine_identity("default", cpuinfo=info)) == [
        "allocator bfc vs default"]
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert machine.differences(a, machine.machine_identity("bfc", cpuinfo=info))[0].startswith(
        "oneDNN settings")


def test_a_record_without_identity_is_never_the_same_machine():
    here = machine.machine_identity("bfc")
    legacy = {"device": "AMD EPYC (2 cores)", "cpu_model": "AMD EPYC", "cpu_allocator": "bfc"}
    assert machine.of_environment(legacy) is None
    assert machine.differences(None, None) == [machine.UNKNOWN]
    assert machine.differences(here, None) == [machine.UNKNOWN]
    assert machine.label(None, "AMD EPYC (2 cores)") == "AMD EPYC (2 cores) [identity unknown]"
    assert machine.of_environment({"machine": here}) == here


def test_records_made_before_identities_stay_readable_and_unknown():
    """The committed study records (their first 65 runs are older than identities) and the
    AVX-512 quick run: readable as they are, each of unknown identity (no migration guesses
    what the machine was)."""
    for path in (ROOT / "reports" / "study" / "results.jsonl.gz",
                 DATA / "quick.amd-epyc-f26-avx512-unknown-identity.jsonl.gz"):
        runs = [r for r in store.read_records(path) if r["kind"] == "run"]
        assert runs, path
        legacy = [r for r in runs if machine.of_environment(r.get("environment")) is None]
        assert legacy, path
        assert all((r.get("environment") or {}).get("device") for r in legacy if r["status"] == "ok")


COMMITTED_RESULTS = ["reports/results.jsonl.gz", "reports/study/results.jsonl.gz",
                     *(f"tests/data/runs/{p.name}" for p in sorted(DATA.glob("*.jsonl.gz")))]


@pytest.mark.parametrize("name", COMMITTED_RESULTS)
def test_every_committed_results_file_reads_as_a_report_and_a_baseline_would(name):
    """Records of every age the repository holds (before machine identities, before rounds,
    today's) tabulate and summarise with today's code: nothing finished became unreadable."""
    records = store.read_records(ROOT / name)
    results = frames.from_records(records)
    assert len(results.runs) == sum(1 for r in store.by_key(records).values() if r["kind"] == "run")
    assert results.machines()  # known or "[identity unknown]", never missing
    summary = baseline.summarise(records, name)
    assert summary["configurations"]


def test_the_committed_baselines_read():
    for path in (ROOT / "bench" / "baselines").rglob("*.json"):
        summary = baseline.load_summary(path)
        assert summary["configurations"] and summary["calibration_seconds"], path
