"""Two measurements that need more than one run: accumulation overhead and repeatability.

Overhead compares configurations *in the same process, interleaved in rounds*, so machine drift
hits all of them alike, and reports ratios of median step times: the harness's accumulation
against the large batch, Keras' built-in accumulation, plain training at the micro-batch size,
and itself with one traced call per micro-batch; and the cost of the memory probes.
Repeatability runs one configuration several times, each isolated, and reports the spread.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from bench.measure.run import RunConfig


@dataclass(frozen=True)
class OverheadSpec:
    model: str = "cnn"
    dataset: str | None = "fashion_mnist"
    effective_batch: int = 256
    micro: int = 64
    preset: str | None = "small"
    rounds: int = 5
    updates_per_round: int = 20
    seed: int = 0


def overhead(spec: OverheadSpec = OverheadSpec()) -> dict[str, Any]:
    from bench.data import load_dataset
    from bench.measure.probes.process import ProcessMemoryProbe
    from bench.runtime import distribution
    from bench.training.config import TrainingConfig
    from bench.training.feed import WindowFeed
    from bench.training.plan import AccumulationPlan
    from bench.training.setup import build_trainer

    B, b = spec.effective_batch, spec.micro
    data = load_dataset(spec.dataset or "synthetic_mnist",
                        limit_train=spec.updates_per_round * B, seed=spec.seed)
    base = TrainingConfig(spec.model, "accumulate", AccumulationPlan.of(B, b), spec.preset,
                          seed=spec.seed)
    variants = {  # name: (training config, probe factory or None)
        "large_batch": (replace(base, strategy="large_batch", plan=AccumulationPlan.of(B, B)), None),
        "accumulate": (base, None),
        "accumulate_per_micro": (replace(base, fused=False), None),
        "keras_builtin": (replace(base, strategy="keras_builtin"), None),
        "plain_micro": (replace(base, strategy="plain_micro"), None),
        "accumulate_probe_hwm": (base, lambda: ProcessMemoryProbe("hwm")),
        "accumulate_probe_sampler": (base, lambda: ProcessMemoryProbe("sampler")),
    }
    total = spec.rounds * spec.updates_per_round
    runners = {}
    for name, (config, probe) in variants.items():
        trainer = build_trainer(config, data.spec, total + 3, distribution(1))
        feed = WindowFeed(data.train, config.plan, spec.seed, tensors=True)
        trainer.run_epoch(feed.epoch(0).head(3), 0, lambda e: None)  # trace and warm up
        runners[name] = (trainer, feed, probe, [])
    order = []
    for r in range(spec.rounds):  # interleaved: every variant once per round
        for name, (trainer, feed, probe, seconds) in runners.items():
            order.append(name)
            p = probe() if probe else None
            if p:
                p.start()
            trainer.run_epoch(feed.epoch(r + 1).head(spec.updates_per_round), r + 1,
                              lambda e, s=seconds: s.append(e.seconds))
            if p:
                p.stop()
    samples = {n: variants[n][0].plan.effective_batch for n in variants}
    seconds = {n: s for n, (_, _, _, s) in runners.items()}
    throughput = {n: samples[n] / float(np.median(s)) for n, s in seconds.items()}
    spread = {n: float(np.subtract(*np.percentile(s, [75, 25])) / np.median(s))
              for n, s in seconds.items()}
    t = throughput
    ratios = {
        "accumulate_vs_large_batch": t["accumulate"] / t["large_batch"],
        "accumulate_vs_keras_builtin": t["accumulate"] / t["keras_builtin"],
        "accumulate_vs_plain_micro": t["accumulate"] / t["plain_micro"],
        "fused_vs_per_micro": t["accumulate"] / t["accumulate_per_micro"],
        "probe_hwm_cost": 1 - t["accumulate_probe_hwm"] / t["accumulate"],
        "probe_sampler_cost": 1 - t["accumulate_probe_sampler"] / t["accumulate"],
    }
    targets = {
        "accumulate >= 1.0x keras_builtin": ratios["accumulate_vs_keras_builtin"] >= 1.0,
        "accumulate >= 0.95x large_batch": ratios["accumulate_vs_large_batch"] >= 0.95,
        "probes cost <= 2% (hwm)": ratios["probe_hwm_cost"] <= 0.02,
        "probes cost <= 2% (sampler)": ratios["probe_sampler_cost"] <= 0.02,
    }
    return {"kind": "overhead", "spec": spec.__dict__, "dataset": data.provenance.to_dict(),
            "pair": f"{b}x{B // b}", "throughput_samples_per_s": throughput,
            "iqr_relative": spread, "ratios": ratios, "targets_met": targets,
            "updates_timed": total, "seconds": seconds, "order": order}


def repeatability(cfg: RunConfig, times: int = 3, timeout: float = 600) -> dict[str, Any]:
    """The same configuration `times` times, each a fresh child of one worker: spread of peak
    memory per probe and of throughput (max - min, relative to the median)."""
    from bench.execute.client import Worker
    from bench.execute.jobs import Job

    started = time.perf_counter()
    job = Job.run(cfg, timeout=timeout)
    with Worker() as worker:
        records = [worker.wait(worker.submit(job))[0] for _ in range(times)]
    ok = [r for r in records if r["status"] == "ok"]
    out: dict[str, Any] = {"kind": "repeatability", "config": cfg.to_json(), "times": times,
                           "statuses": [r["status"] for r in records]}
    if ok:
        thr = np.array([r["throughput_samples_per_s"] for r in ok])
        out["throughput_samples_per_s"] = thr.tolist()
        out["throughput_spread_relative"] = float(np.ptp(thr) / np.median(thr))
        out["memory"] = {}
        for probe in ok[0]["memory"]:
            peaks = [r["memory"][probe]["peak_bytes"] for r in ok if r["memory"][probe]["available"]]
            if peaks:
                out["memory"][probe] = {"peak_bytes": peaks,
                                        "spread_relative": float(np.ptp(peaks) / np.median(peaks)),
                                        "spread_bytes": int(np.ptp(peaks))}
    out["seconds"] = round(time.perf_counter() - started, 1)
    return out


def render(result: dict[str, Any]) -> str:
    """A study's figures as text (what `make bench-overhead` prints)."""
    from tabulate import tabulate

    if result["kind"] == "overhead":
        rows = [[n, f"{v:,.0f}", f"{result['iqr_relative'][n]:.0%}"]
                for n, v in result["throughput_samples_per_s"].items()]
        ratios = [[n, f"{v:.3f}"] for n, v in result["ratios"].items()]
        targets = [[n, "met" if ok else "MISSED"] for n, ok in result["targets_met"].items()]
        return "\n\n".join([
            f"Accumulation overhead: {result['spec']['model']} {result['pair']}, "
            f"{result['dataset']['label']}, {result['updates_timed']} updates per variant "
            f"in interleaved rounds",
            tabulate(rows, ["variant", "samples/s (median)", "IQR"], disable_numparse=True),
            tabulate(ratios, ["ratio", "value"], disable_numparse=True),
            tabulate(targets, ["target", "result"])])
    mem = [[p, ", ".join(f"{b / 2**20:.1f}" for b in m["peak_bytes"]), f"{m['spread_relative']:.1%}"]
           for p, m in result.get("memory", {}).items()]
    thr = ", ".join(f"{t:,.0f}" for t in result.get("throughput_samples_per_s", []))
    return "\n".join([
        f"Repeatability: {result['config']['model']} {result['config']['strategy']} "
        f"{result['config']['micro']}/{result['config']['effective_batch']}, {result['times']} "
        f"isolated runs ({', '.join(result['statuses'])})",
        f"throughput samples/s: {thr} (spread {result.get('throughput_spread_relative', float('nan')):.1%})",
        tabulate(mem, ["probe", "peak MiB per run", "spread"], disable_numparse=True)])


if __name__ == "__main__":
    import json
    import sys

    for path in sys.argv[1:]:
        with open(path) as f:
            print(render(json.load(f)), end="\n\n")
