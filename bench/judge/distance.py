"""The arithmetic of levels 1 and 2 on plain arrays, for every framework: how far one gradient
is from another, how far two runs' weights are apart, and the one-ulp perturbation whose runs
give the noise floor. The TensorFlow analysis and the backend lane (JAX, PyTorch) both judge
with these, so a verdict means the same on every backend.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class GradientComparison:
    max_rel_error: float
    overall_rel_error: float
    per_variable: dict[str, float]

    @property
    def worst_variable(self) -> str:
        return max(self.per_variable, key=self.per_variable.get)


def compare(grads: list[np.ndarray], reference: list[np.ndarray], names: list[str]) -> GradientComparison:
    """Relative L2 error per variable and over all variables together."""
    per_var = {}
    diff_sq = ref_sq = 0.0
    for name, g, r in zip(names, grads, reference):
        g, r = g.astype(np.float64), r.astype(np.float64)
        d, n = float(np.sum((g - r) ** 2)), float(np.sum(r ** 2))
        per_var[name] = 0.0 if d == 0 else (float(np.sqrt(d / n)) if n > 0 else float("inf"))
        diff_sq, ref_sq = diff_sq + d, ref_sq + n
    overall = 0.0 if diff_sq == 0 else float(np.sqrt(diff_sq / ref_sq)) if ref_sq else float("inf")
    return GradientComparison(max(per_var.values(), default=0.0), overall, per_var)


def scale_fit(grads: list[np.ndarray], reference: list[np.ndarray]) -> tuple[float, float]:
    """The scalar s that brings `reference` closest to `grads` (least squares over every
    variable), and the global-norm ratio |grads| / |reference|: a gradient that is the
    reference times a constant (divided by k once too often, clipped, summed) shows here."""
    dot = sum(float(np.sum(g.astype(np.float64) * r)) for g, r in zip(grads, reference))
    ref_sq = sum(float(np.sum(r.astype(np.float64) ** 2)) for r in reference)
    g_sq = sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads)
    if ref_sq == 0:
        return float("nan"), float("nan")
    return dot / ref_sq, float(np.sqrt(g_sq / ref_sq))


def relative_distances(run: Sequence[np.ndarray], reference: Sequence[np.ndarray]) -> list[float]:
    """||w - r|| / ||r|| after each update, for two runs' flattened weights."""
    return [float(np.linalg.norm(w - r) / np.linalg.norm(r)) for w, r in zip(run, reference)]


#: Relative size of one unit in the last place of the 16-bit compute types (at 1.0).
COMPUTE_ULP = {"mixed_float16": 2.0 ** -10, "mixed_bfloat16": 2.0 ** -7}


def one_ulp(weights: list[np.ndarray], direction: float,
            precision: str = "float32") -> list[np.ndarray]:
    """Every weight moved one representable value towards `direction` (+inf or -inf): the
    smallest possible perturbation of the starting point — in the precision the model computes
    in (for the mixed policies a float32 one-ulp step would vanish in the 16-bit cast, so the
    weights move by one 16-bit ulp instead)."""
    if precision in COMPUTE_ULP:
        step = COMPUTE_ULP[precision] * np.sign(direction)
        return [(w * (1 + step)).astype(w.dtype) for w in weights]
    # an exact zero stays: its next value is a denormal, which TensorFlow's and XLA's CPU
    # kernels flush to zero but PyTorch's keep, and a zero bias made positive flips every ReLU
    # whose input is exactly zero (a kink, not rounding): that floor would not compare
    return [np.where(w == 0, w, np.nextafter(w, direction)).astype(w.dtype) for w in weights]


def noise_floor(ups: list[float], downs: list[float]) -> list[float]:
    """Per update, the larger of the two one-ulp runs' distances: one chaotic sample can stay
    small by chance for a while; two make the floor representative."""
    return [max(u, d) for u, d in zip(ups, downs)]
