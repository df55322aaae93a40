"""Memory and speed of the backend lane's records, per model and backend, relative to the
large batch: the same ratios and rerun intervals as TensorFlow's report
(`bench.report.speed_ratios`), from the same kind of blocks."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from bench.config.names import MIB
from bench.report.speed_ratios import (
    Ratio,
    pooled_spread,
    process_block_logs,
    rerun_ratio,
    round_logs,
    within_floor,
)

LARGE = ("large_batch", 1)


@dataclass(frozen=True)
class MemoryRow:
    strategy: str
    pair: str
    accum: int
    rss_mib: float | None
    rss_ratio: float | None
    compiled_mib: float | None
    compiled_ratio: float | None
    accelerator_mib: float | None


def memory_rows(records: list[dict], model: str, backend: str) -> list[MemoryRow]:
    """One row per configuration measured, the large batch first, then by k."""
    mine = [r["memory"] for r in records if r["kind"] == "backend_memory" and r["model"] == model
            and r["backend"] == backend and r["status"] == "ok" and r["memory"]
            and r["memory"].get("status") == "ok"]
    large = next((m for m in mine if m["strategy"] == "large_batch"), None)

    def ratio(value, of):
        return value / of if value is not None and of else None

    rows = []
    for m in sorted(mine, key=lambda m: (m["strategy"] != "large_batch", m["accum"],
                                         m["strategy"])):
        rss = m.get("rss_peak_above_baseline")
        compiled = (m.get("compiled") or {}).get("total")
        peak = m.get("accelerator_peak")
        rows.append(MemoryRow(
            m["strategy"], m["pair"], m["accum"], rss / MIB if rss is not None else None,
            ratio(rss, large and large.get("rss_peak_above_baseline")),
            compiled / MIB if compiled is not None else None,
            ratio(compiled, large and (large.get("compiled") or {}).get("total")),
            peak / MIB if peak is not None else None))
    return rows


@dataclass(frozen=True)
class SpeedRow:
    strategy: str
    pair: str
    accum: int
    ratio: Ratio | None
    processes: int


def speed_rows(records: list[dict], model: str, backend: str) -> list[SpeedRow]:
    """Samples/s over the large batch's, per configuration: each speed process's mean block
    log ratio is a replicate; the interval pools the spread between processes over the
    model's ratios, floored by what the block rounds give a process's mean."""
    by_config: dict[tuple[str, int], dict[int, dict]] = defaultdict(dict)
    pairs: dict[tuple[str, int], str] = {}
    for r in records:
        if r["kind"] != "backend_speed" or r["model"] != model or r["backend"] != backend \
                or r["status"] != "ok":
            continue
        for c in r["speed"]:
            if c.get("status") == "ok":
                key = (c["strategy"], c["accum"])
                by_config[key][c["process"]] = c
                pairs[key] = c["pair"]
    reference = by_config.get(LARGE, {})
    others = [k for k in by_config if k != LARGE]
    logs = {k: round_logs(by_config[k], reference) for k in others}
    spread = pooled_spread(list(logs.values()))
    floor = within_floor([x for k in others for x in process_block_logs(by_config[k],
                                                                       reference)])
    return [SpeedRow(k[0], pairs[k], k[1], rerun_ratio(logs[k], spread, floor), len(logs[k]))
            for k in sorted(others, key=lambda k: (k[1], k[0]))]


def median_half_width(rows: list[SpeedRow]) -> float | None:
    """The median of the intervals' half-widths, relative to their ratios."""
    widths = [(r.ratio.high - r.ratio.low) / 2 / r.ratio.value for r in rows
              if r.ratio and r.ratio.low is not None]
    return float(np.median(widths)) if widths else None
