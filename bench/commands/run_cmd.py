"""`run`: train one configuration and measure it; append one JSON record to --out."""
from __future__ import annotations

import json
from pathlib import Path

from bench.config.job import Job
from bench.config.names import MIB, PRECISIONS
from bench.config.run import RunConfig
from bench.data import Sources
from bench.errors import BenchError
from bench.execute.client import run_isolated
from bench.judge.timing import Throughput
from bench.results.store import dumps, put


def add_parser(sub) -> None:
    p = sub.add_parser("run", help="train and measure one configuration")
    p.add_argument("--model", help="a registered model, or a builder as package.module:function")
    p.add_argument("--model-output", choices=["logits", "probability"],
                   help="what a user's model returns (default: logits)")
    p.add_argument("--dataset", help="a registered data set, an .npz file, or a loader as "
                                        "package.module:function (default: the model's seed "
                                        "data set if available here, else the offline default)")
    p.add_argument("--effective-batch", type=int, metavar="B")
    p.add_argument("--micro", type=int, metavar="b", help="micro-batch per replica")
    p.add_argument("--strategy", help="a registered strategy, or a factory as "
                                         "package.module:function")
    p.add_argument("--purpose", default="measure", choices=["measure", "outcome"],
                   help="measure: speed and memory (the default); outcome: a trained model "
                        "with a learning curve, no memory probes")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit-train", type=int, metavar="N", help="use the first N training samples")
    p.add_argument("--limit-test", type=int, metavar="N", help="use the first N test samples")
    p.add_argument("--preset", help="model preset (default: the seed's); 'small' for CPU")
    p.add_argument("--lr-schedule", default="constant", help="constant | exponential | cosine")
    p.add_argument("--learning-rate", type=float, help="default: the model's recipe")
    p.add_argument("--replicas", type=int, default=1)
    p.add_argument("--workers", type=int, default=1,
                   help="MultiWorkerMirroredStrategy: start N worker processes here (or, with "
                        "$TF_CONFIG set, run as that node of an existing cluster)")
    p.add_argument("--jit", action="store_true", help="XLA-compile the training step")
    p.add_argument("--precision", default="float32",
                   choices=PRECISIONS,
                   help="mixed_float16 wraps the optimizer in Keras' LossScaleOptimizer")
    p.add_argument("--per-micro", action="store_true",
                   help="accumulate: one traced call per micro-batch instead of per update")
    p.add_argument("--probes", help="comma-separated memory probes (default: all)")
    p.add_argument("--isolate", action="store_true",
                   help="run in a fresh child process; a crash or timeout becomes a record")
    p.add_argument("--timeout", type=float, help="seconds (implies --isolate)")
    p.add_argument("--config-file", help="a JSON run configuration instead of the flags above")
    p.add_argument("--data-dir", help="directory with local copies of the data sets")
    p.add_argument("--out", help="append the record to this JSON-lines file")
    p.add_argument("--json", action="store_true", help="print the record as JSON")
    p.add_argument("--quiet", action="store_true", help="print nothing (use with --out)")
    p.set_defaults(handler=run)


def config_from_args(args):
    if args.config_file:
        try:
            return RunConfig.from_json(json.loads(Path(args.config_file).read_text()))
        except (OSError, json.JSONDecodeError, TypeError) as e:
            raise BenchError(f"cannot read run configuration {args.config_file}: {e}") from None
    missing = [f"--{n.replace('_', '-')}" for n in ("model", "strategy", "effective_batch", "micro")
               if getattr(args, n) is None]
    if missing:
        raise BenchError(f"run needs {', '.join(missing)}")
    probes = (tuple(p.strip() for p in args.probes.split(",") if p.strip())
              if args.probes is not None else (() if args.purpose == "outcome" else None))
    return RunConfig(model=args.model, strategy=args.strategy,
                     effective_batch=args.effective_batch, micro=args.micro,
                     dataset=args.dataset, purpose=args.purpose, replicas=args.replicas,
                     epochs=args.epochs, seed=args.seed, limit_train=args.limit_train,
                     limit_test=args.limit_test, preset=args.preset,
                     lr_schedule=args.lr_schedule, learning_rate=args.learning_rate,
                     jit=args.jit, fused=not args.per_micro, probes=probes,
                     model_output=args.model_output, precision=args.precision,
                     workers=args.workers)


def run(args) -> int:
    cfg = config_from_args(args)
    if args.isolate or args.timeout:
        record = run_isolated(Job.run(cfg, timeout=args.timeout), args.data_dir)[0]
    else:
        # the training layer, entered here only: this command trains in its own process
        from bench.engine.entry import run_here

        record = run_here(Job.run(cfg), Sources.from_env(args.data_dir))[0]
    if args.out:
        put(Path(args.out), record)
    if args.json:
        print(dumps(record))
    elif not args.quiet:
        print(summary(record))
    return 0 if record["status"] == "ok" else 1


def summary(r: dict) -> str:
    c = r["config"]
    head = f"{c['model']} / {c['strategy']} / {c['pair']} (B={c['effective_batch']})"
    if r["status"] != "ok":
        return f"{head}: {r['status'].upper()} — {r.get('error')}"
    t = Throughput(**{k: v for k, v in r["throughput"].items() if k != "iqr_relative"})
    s = r["seconds"]
    lines = [head, f"data: {r['dataset']['label']}",
             f"device: {r['environment']['device']} (CPU allocator: "
             f"{r['environment'].get('cpu_allocator')})",
             f"throughput: {t}",
             f"final test accuracy: {r['final_test_accuracy']:.4f} after {r['updates']} updates",
             f"seconds: {s['updates']:.1f} in updates, {s['evaluation']:.1f} in evaluation, "
             f"{s['total']:.1f} in total"]
    for name, m in r["memory"].items():
        lines.append(f"memory [{name}]: " + (f"{m['peak_bytes'] / MIB:,.1f} MiB peak above baseline"
                                             if m["available"] else f"not available — {m['reason']}"))
    return "\n".join(lines)
