"""Memory model: what the model's state costs (from the built model) and what activations cost
per sample (fitted from measured runs), so a user can pick the largest micro-batch that fits.

peak(b) = states + intercept + b * activation_bytes_per_sample

`states` are weights + optimizer slots (+ accumulators when k > 1), known exactly from the
built objects and present in every run's baseline. The measured peak above baseline holds the
transient part: gradients and workspace (the intercept) and activations (the slope), fitted by
least squares over the measured micro-batch sizes (at least two). DeepSpeed's and accelerate's
estimators stop at the states; activations are where micro-batching saves memory.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from bench.config.names import BYTE_UNITS, probe_order
from bench.errors import BenchError


def _nbytes(variables) -> int:
    """Bytes of Keras or tf.Variables (their dtype is a string or a tf.DType)."""
    itemsize = lambda v: np.dtype(getattr(v.dtype, "as_numpy_dtype", v.dtype)).itemsize  # noqa: E731
    return int(sum(np.prod(v.shape) * itemsize(v) for v in variables))


def state_bytes(trainer) -> dict[str, int]:
    """Bytes of weights, gradients (transient), optimizer slots and accumulators of a trainer."""
    model, opt = trainer.p.model, trainer.p.optimizer
    trainable = model.trainable_variables
    is_builtin_acc = lambda v: "gradient_accumulator" in v.path  # noqa: E731
    builtin_acc = [v for v in opt.variables if is_builtin_acc(v)]
    slots = [v for v in opt.variables if len(v.shape) > 0 and not is_builtin_acc(v)]
    own_acc = getattr(trainer, "accumulators", [])
    return {
        "parameters": int(sum(np.prod(v.shape) for v in trainable)),
        "weights": _nbytes(model.weights),
        "gradients": _nbytes(trainable),
        "optimizer_slots": _nbytes(slots),
        "accumulators": _nbytes(own_acc) + _nbytes(builtin_acc),
    }


@dataclass(frozen=True)
class ActivationFit:
    intercept_bytes: float
    bytes_per_sample: float
    points: tuple[tuple[int, int], ...]

    def transient(self, micro: int) -> float:
        return self.intercept_bytes + self.bytes_per_sample * micro

    def residuals(self) -> list[tuple[int, float]]:
        """(b, measured - fitted) of each point: how far the line is from the data (two
        points fit exactly, so residuals say something from three)."""
        return [(b, peak - self.transient(b)) for b, peak in sorted(self.points)]

    def worst_residual(self) -> tuple[float, float] | None:
        """The largest |residual| in bytes and as a share of its point's peak; None below
        three batch sizes, where a line fits exactly."""
        if len({b for b, _ in self.points}) < 3:
            return None
        b, r = max(self.residuals(), key=lambda x: abs(x[1]))
        peak = dict(self.points)[b]
        return abs(r), abs(r) / peak if peak else float("inf")

    def to_dict(self) -> dict:
        return asdict(self)


def fit_activations(points: list[tuple[int, int]]) -> ActivationFit:
    """Least-squares line through (micro-batch, peak above baseline) points."""
    micros = sorted({m for m, _ in points})
    if len(micros) < 2:
        raise BenchError("the memory model needs measurements at two or more micro-batch sizes")
    x = np.array([m for m, _ in points], dtype=np.float64)
    y = np.array([p for _, p in points], dtype=np.float64)
    slope, intercept = np.polyfit(x, y, 1)
    return ActivationFit(float(intercept), float(slope), tuple(points))


def held_bytes(states: dict[str, int], accum: int) -> int:
    """Memory held for the whole run: weights and optimizer slots, plus one accumulator per
    trainable variable when accumulating (k > 1)."""
    return (states["weights"] + states["optimizer_slots"]
            + (states["gradients"] if accum > 1 else 0))


def predicted_total(fit: ActivationFit, states: dict[str, int], micro: int, accum: int) -> float:
    """Whole-run memory for a pair: held states + the fitted transient part."""
    return held_bytes(states, accum) + fit.transient(micro)


def parse_bytes(text: str) -> int:
    """'2GiB', '512MiB', '1.5GB', '1000000' -> bytes."""
    s = text.strip().upper().replace(" ", "")
    num = s.rstrip("KMGTIB")
    unit = s[len(num):]
    try:
        value = float(num)
    except ValueError:
        value = -1
    if unit not in BYTE_UNITS or value <= 0:
        raise BenchError(f"cannot read memory budget {text!r} (try 2GiB, 512MiB or a byte count)")
    return int(value * BYTE_UNITS[unit])


def leave_one_out_errors(points: list[tuple[int, int]]) -> list[dict]:
    """Prediction error for each measured size from a fit to the *other* sizes (needs >= 3
    distinct sizes): the honest estimate of how well the model predicts an unmeasured size."""
    sizes = sorted({m for m, _ in points})
    out = []
    for held in sizes:
        rest = [p for p in points if p[0] != held]
        if len({m for m, _ in rest}) < 2:
            continue
        fit = fit_activations(rest)
        for micro, measured in (p for p in points if p[0] == held):
            predicted = fit.transient(micro)
            out.append({"micro": micro, "measured_bytes": measured, "predicted_bytes": predicted,
                        "relative_error": (predicted - measured) / measured if measured else None})
    return out


def points_from_records(records: list[dict], model: str, probe: str | None = None,
                        preset: str | None = None, strategy: str = "accumulate"
                        ) -> tuple[str, list[tuple[int, int]], dict]:
    """(probe, [(micro, peak above baseline)], model_state) from ok runs of `model` with the
    harness's accumulation — the code path whose memory the model predicts — falling back to
    adding the large batch (k = 1) when fewer than two accumulation sizes were measured.

    The two paths differ in more than the micro-batch (no accumulators, no loop at k = 1): on a
    model with tiny activations the large batch can even need less, which one line through both
    would turn into a negative slope."""
    ok = [r for r in records if r.get("kind") == "run" and r["status"] == "ok"
          and r["config"]["model"] == model
          and (preset is None or r["config"].get("preset") == preset)]
    runs = [r for r in ok if r["config"]["strategy"] == strategy]
    if len({r["config"]["micro"] for r in runs}) < 2:
        runs += [r for r in ok if r["config"]["strategy"] == "large_batch"]
    if not runs:
        raise BenchError(f"no successful large_batch/accumulate runs of {model} to fit memory from")
    available = [p for p in probe_order()
                 if any((r.get("memory") or {}).get(p, {}).get("available") for r in runs)]
    probe = probe or (available[0] if available else None)
    if probe not in available:
        raise BenchError(f"memory probe {probe!r} has no readings for {model} "
                         f"(available: {', '.join(available) or 'none'})")
    points = [(int(r["config"]["micro"]), int(r["memory"][probe]["peak_bytes"])) for r in runs
              if (r.get("memory") or {}).get(probe, {}).get("available")]
    return probe, points, runs[0]["model_state"]


def choose_micro(fit: ActivationFit, states: dict[str, int], effective_batch: int, budget: int,
                 replicas: int = 1) -> tuple[list[dict], dict | None]:
    """Predicted total for every valid micro-batch; the largest that fits the budget (or None)."""
    rows = []
    for micro in range(effective_batch // replicas, 0, -1):
        if effective_batch % (micro * replicas):
            continue
        accum = effective_batch // (micro * replicas)
        total = predicted_total(fit, states, micro, accum)
        rows.append({"micro": micro, "accum": accum, "predicted_bytes": total,
                     "fits": total <= budget})
    best = next((r for r in rows if r["fits"]), None)
    return rows, best
