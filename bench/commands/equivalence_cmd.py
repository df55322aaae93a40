"""`equivalence`: levels 1 (gradient) and 2 (trajectory) for one model, strategy and pair.

Exit status: 0 when every analysed configuration is equivalent; 1 when any is NOT EQUIVALENT
or failed (a CI step can gate on it); 2 for bad input."""
from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

from tabulate import tabulate

from bench.config.job import Job
from bench.config.names import BACKENDS, DEFAULT_BACKEND, PRECISIONS
from bench.config.request import EquivalenceRequest
from bench.data import Sources
from bench.execute.lane import run_lane
from bench.results.store import dumps, put


def add_parser(sub) -> None:
    p = sub.add_parser("equivalence", help="is this strategy equivalent to the large batch? "
                                           "(gradient and trajectory levels; exit 1 when not)")
    p.add_argument("--model", required=True,
                   help="a registered model, or a builder as package.module:function")
    p.add_argument("--model-output", choices=["logits", "probability"],
                   help="what a user's model returns (default: logits)")
    p.add_argument("--effective-batch", type=int, required=True, metavar="B")
    p.add_argument("--micro", type=_int_list, required=True, metavar="b[,b...]",
                   help="micro-batch per replica; accum = B / (b x replicas)")
    p.add_argument("--strategy", type=_str_list, required=True, metavar="S[,S...]",
                   help="large_batch | accumulate | keras_builtin | naive | package.module:factory "
                        "(a user's); several share one reference (one record each: with --json, "
                        "one object per line)")
    p.add_argument("--dataset", help="a registered data set, an .npz file, or a loader as "
                                     "package.module:function (default: the model's seed data "
                                     "set if available here, else the offline default)")
    p.add_argument("--precision", "--dtype", dest="precision", default="float32",
                   choices=PRECISIONS,
                   help="judged against the large batch in the same precision, with the noise "
                        "floor measured in it; mixed_float16 uses Keras' LossScaleOptimizer")
    p.add_argument("--jit", action="store_true", help="XLA-compile the training steps")
    p.add_argument("--ema", type=float, default=None, metavar="MOMENTUM",
                   help="every run (the large batch too) keeps an EMA of its weights "
                        "(use_ema, ema_momentum); level 2 compares the EMAs too")
    p.add_argument("--partial-window", action="store_true",
                   help="also train a partial window (k/2 micro-batches) at an epoch's end and "
                        "compare with the large batch's last, smaller batch")
    p.add_argument("--keras", type=int, choices=(2, 3), default=3,
                   help="2: the strategies are Keras 2 code (tf.keras as tf_keras); they run in "
                        "the Keras 2 lane, a process with TF_USE_LEGACY_KERAS=1")
    p.add_argument("--backend", default=DEFAULT_BACKEND, choices=(DEFAULT_BACKEND, *BACKENDS),
                   help="jax | torch: the strategies run in the backend lane, a process with "
                        "KERAS_BACKEND set and TensorFlow blocked, judged against that "
                        "backend's large batch (needs `make setup-backends`)")
    p.add_argument("--updates", type=int, default=20, help="updates for the trajectory (level 2)")
    p.add_argument("--lr-schedule", default="constant", help="constant | exponential | cosine")
    p.add_argument("--replicas", type=int, default=1,
                   help="MirroredStrategy replicas (logical CPU devices when there is no GPU)")
    p.add_argument("--workers", type=int, default=1,
                   help="MultiWorkerMirroredStrategy worker processes started here; judged "
                        "against the single-process large batch")
    p.add_argument("--reference-replicas", type=int,
                   help="replicas of the large-batch reference (default: --replicas); "
                        "1 compares multi-device training with a single device")
    p.add_argument("--preset", help="model preset (default: the seed's); 'small' for CPU")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", help="directory with local copies of the data sets")
    p.add_argument("--json", action="store_true", help="print one JSON object per combination")
    p.add_argument("--out", help="append the records to this JSON-lines file")
    p.set_defaults(handler=run)


def _int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers separated by commas, got {text!r}") from None


def _str_list(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


def run(args) -> int:
    req = EquivalenceRequest(model=args.model, strategies=args.strategy,
                             effective_batch=args.effective_batch, micros=args.micro,
                             replicas=args.replicas, dataset=args.dataset, dtype=args.precision,
                             jit=args.jit, workers=args.workers, keras=args.keras, ema=args.ema,
                             partial_window=args.partial_window,
                             updates=args.updates, lr_schedule=args.lr_schedule, seed=args.seed,
                             preset=args.preset, reference_replicas=args.reference_replicas,
                             model_output=args.model_output, backend=args.backend)
    sources = Sources.from_env(args.data_dir)
    if req.backend != DEFAULT_BACKEND and importlib.util.find_spec("tensorflow") is None:
        # no TensorFlow here: the lane alone (its large batch is not compared with TensorFlow's)
        records = run_lane(req.backend, {"task": "equivalence", "request": req,
                                         "sources": sources})["records"]
    else:
        # the training layer, entered here only: this command trains in its own process
        from bench.engine.entry import run_here

        records = run_here(Job.equivalence(req), sources)
    if args.out:
        for record in records:
            put(Path(args.out), record)
    if args.json:
        for record in records:
            print(dumps(record))
    else:
        print("\n\n".join(render(r) for r in records))
    return 0 if all(r["verdict"] == "equivalent" for r in records) else 1


def render(r: dict) -> str:
    backend = f" / on {r['backend']}" if r.get("backend") else ""
    head = (f"{r['model']} / {r['strategy']} / {r['pair']} (B={r['effective_batch']}) / "
            f"{r['dtype']} / lr {r['lr_schedule']} / {r['dataset']['label']}{backend}")
    if r["verdict"] == "failed":
        return f"{head}\nverdict: FAILED — {r['reasons'][0]}"
    rows = [["1 gradient", f"{r['gradient_rel_error']:.2e} overall, "
             f"{r['gradient_max_variable_rel_error']:.2e} worst variable",
             f"<= {r['gradient_tolerance']:.0e}", r["levels"]["gradient"]],
            ["2 trajectory", f"{r['trajectory'][-1]:.2e} after {r['updates']} updates, "
             f"max {r['trajectory_ratio']:.2g}x the noise floor", "<= 10x floor",
             r["levels"]["trajectory"]]]
    table = tabulate(rows, ["level", "measured", "equivalent if", "result"], disable_numparse=True)
    n = len(r["trajectory"])
    picks = sorted({i for i in (0, 1, 4, 9, 19, 49, n - 1) if i < n})
    traj = tabulate([[i + 1, f"{r['trajectory'][i]:.2e}", f"{r['noise_floor'][i]:.2e}",
                      r["lr_steps"][i], f"{r['lr'][i]:.2e}"] for i in picks],
                    ["update", "distance to large batch", "noise floor", "lr step", "lr"],
                    disable_numparse=True)
    reasons = "\n".join(f"  - {x}" for x in r["reasons"])
    return f"{head}\n\n{table}\n\n{traj}\n\nverdict: {r['verdict'].upper()}\n{reasons}"
