"""`fit-budget`: the largest micro-batch whose predicted peak memory fits a budget."""
from __future__ import annotations

from pathlib import Path

from tabulate import tabulate

from bench.config.job import Job
from bench.config.names import MIB, probe_order
from bench.config.plan import AccumulationPlan
from bench.config.run import RunConfig
from bench.errors import BenchError
from bench.execute.client import Worker
from bench.judge import memory_model as mm
from bench.results import store
from bench.results.store import dumps


def add_parser(sub) -> None:
    p = sub.add_parser("fit-budget", help="largest micro-batch that fits a memory budget, "
                                          "from a memory model fitted to measured runs")
    p.add_argument("--model", required=True,
                   help="a registered model, or a builder as package.module:function")
    p.add_argument("--model-output", choices=["logits", "probability"],
                   help="what a user's model returns (default: logits)")
    p.add_argument("--strategy", default="accumulate",
                   help="the accumulation to measure (default: the harness's; or "
                        "package.module:factory)")
    p.add_argument("--effective-batch", type=int, required=True, metavar="B")
    p.add_argument("--budget", required=True, help="e.g. 2GiB, 512MiB, or bytes")
    p.add_argument("--dataset")
    p.add_argument("--preset")
    p.add_argument("--probe", help="memory probe to fit (default: the first that measured: "
                                   + ", ".join(probe_order()) + ")")
    p.add_argument("--results", help="fit to these stored runs instead of measuring")
    p.add_argument("--measure", help="micro-batch sizes to measure (default: B/8 and B/2)")
    p.add_argument("--data-dir")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run)


def _measure(args, micros: list[int]) -> list[dict]:
    jobs = [Job.run(RunConfig(model=args.model, strategy=args.strategy,
                              effective_batch=args.effective_batch, micro=micro,
                              dataset=args.dataset, limit_train=8 * args.effective_batch,
                              limit_test=micro, preset=args.preset,
                              model_output=args.model_output), timeout=1800)
            for micro in micros]
    records = []
    with Worker(args.data_dir) as worker:  # one process imports and loads; a child per size
        for job in jobs:
            print(f"measuring {args.model} at micro-batch {job.spec.micro} "
                  f"({job.spec.plan().label}) ...", flush=True)
            records += worker.wait(worker.submit(job, [r for j in jobs for r in j.data_requests()]))
    return records


def run(args) -> int:
    budget = mm.parse_bytes(args.budget)
    AccumulationPlan.of(args.effective_batch, args.effective_batch)  # validates B
    if args.results:
        records = store.read(Path(args.results))
    else:
        if args.measure:
            try:
                micros = [int(x) for x in args.measure.split(",")]
            except ValueError:
                raise BenchError(f"--measure takes integers separated by commas, got {args.measure!r}") from None
        else:
            micros = sorted({max(1, args.effective_batch // 8), max(1, args.effective_batch // 2)})
        for m in micros:
            AccumulationPlan.of(args.effective_batch, m)
        records = _measure(args, micros)
        failed = [r for r in records if r["status"] != "ok"]
        if failed:
            raise BenchError("a measurement run failed: " + "; ".join(
                f"{r['config']['pair']}: {r['status']} {r.get('error') or ''}" for r in failed))
    probe, points, states = mm.points_from_records(records, args.model, args.probe, args.preset,
                                                   args.strategy)
    fit = mm.fit_activations(points)
    rows, best = mm.choose_micro(fit, states, args.effective_batch, budget)
    loo = mm.leave_one_out_errors(points)
    result = {"model": args.model, "effective_batch": args.effective_batch, "budget_bytes": budget,
              "probe": probe, "fit": fit.to_dict(), "states": states,
              "leave_one_out": loo, "candidates": rows, "choice": best}
    if args.json:
        print(dumps(result))
        return 0 if best else 1
    measured = dict(points)
    table = [[r["micro"], r["accum"], f"{r['predicted_bytes'] / MIB:,.1f}",
              f"{(mm.held_bytes(states, r['accum']) + measured[r['micro']]) / MIB:,.1f}"
              if r["micro"] in measured else "", "yes" if r["fits"] else "no"] for r in rows]
    print(f"{args.model}, effective batch {args.effective_batch}, budget {budget / MIB:,.0f} MiB "
          f"(probe {probe}; states {mm.held_bytes(states, 1) / MIB:.1f} MiB, "
          f"+ {states['gradients'] / MIB:.1f} MiB of accumulators when k > 1, "
          f"+ {fit.intercept_bytes / MIB:.1f} MiB + {fit.bytes_per_sample / 1024:.1f} KiB per sample)")
    print(tabulate(table, ["micro b", "accum k", "predicted MiB", "measured MiB", "fits"],
                   disable_numparse=True))
    if loo:
        worst = max(abs(e["relative_error"]) for e in loo if e["relative_error"] is not None)
        print(f"leave-one-out prediction error on measured sizes: at most {worst:.0%}")
    else:
        print("(two measured sizes: the line passes through both; give --results with three or "
              "more sizes for a prediction error)")
    if best is None:
        print(f"nothing fits: even micro-batch 1 is predicted at {rows[-1]['predicted_bytes'] / MIB:,.1f} MiB")
        return 1
    print(f"largest micro-batch that fits: {best['micro']} -> pair {best['micro']}x{best['accum']}")
    return 0
