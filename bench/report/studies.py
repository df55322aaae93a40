"""The studies' results as text (what `make bench-overhead` prints): read from their JSON,
never measured here."""
from __future__ import annotations

from typing import Any

from tabulate import tabulate

from bench.config.names import MIB
from bench.results import machine


def render(result: dict[str, Any]) -> str:
    """A study's figures as text (what `make bench-overhead` prints)."""
    if result["kind"] == "overhead":
        return _render_overhead(result)
    mem = [[p, ", ".join(f"{b / MIB:.1f}" for b in m["peak_bytes"]), f"{m['spread_relative']:.1%}"]
           for p, m in result.get("memory", {}).items()]
    thr = ", ".join(f"{t:,.0f}" for t in result.get("throughput_samples_per_s", []))
    return "\n".join([
        f"Repeatability: {result['config']['model']} {result['config']['strategy']} "
        f"{result['config']['micro']}/{result['config']['effective_batch']}, {result['times']} "
        f"isolated runs ({', '.join(result['statuses'])})",
        f"throughput samples/s: {thr} (spread {result.get('throughput_spread_relative', float('nan')):.1%})",
        tabulate(mem, ["probe", "peak MiB per run", "spread"], disable_numparse=True)])


def _render_overhead(result: dict[str, Any]) -> str:
    def cell(r):
        return f"{r['median']:.2f} ({r['min']:.2f}-{r['max']:.2f})"

    alts = [a for a in next(iter(result["cells"].values()))["ratios"] if a != "xla_vs_without"]
    rows = [[v["model"], "XLA" if v["xla"] else "-",
             f"{result['throughput_samples_per_s'][c + ':accumulate']:,.0f}",
             *[cell(v["ratios"][a]) for a in alts],
             cell(v["ratios"]["xla_vs_without"]) if "xla_vs_without" in v["ratios"] else "",
             {True: "yes", False: "NO", None: "?"}[result["xla_used"].get(c + ":keras_builtin")]
             if v["xla"] else ""]
            for c, v in result["cells"].items()]
    rounds = len(next(iter(result["per_round_samples_per_s"].values())))
    env = result.get("environment")
    where = (machine.label(machine.of_environment(env), (env or {}).get("device")) if env
             else "a machine this record does not name (recorded before studies carried one)")
    out = [f"Accumulation overhead at {result['pair']} on {where}: every variant built once in "
           f"one process, "
           f"timed in {rounds} interleaved rounds of {result['spec']['updates_per_round']} "
           f"updates; ratios of throughput within a round, median (min-max over rounds)",
           tabulate(rows, ["model", "XLA", "accumulate samples/s", "/ keras_builtin",
                           "/ plain at b", "/ large batch", "XLA / without", "built-in used XLA"],
                    disable_numparse=True)]
    e = result.get("extras")
    if e:
        out.append(f"{e['model']} without XLA: fused / one call per micro-batch "
                   f"{cell(e['fused_vs_per_micro'])}; memory probes cost "
                   f"{e['probe_hwm_cost']:.1%} (hwm), {e['probe_sampler_cost']:.1%} (sampler)")
    out.append(tabulate([[n, "met" if ok else "MISSED"] for n, ok in result["targets_met"].items()],
                        ["target", "result"]))
    return "\n\n".join(out)
