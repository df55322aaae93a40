"""Where accumulation goes wrong inside or at the edge of a window, from the figures a probe
stores: an EMA updated per micro-batch, a partial window at an epoch's end (pure logic; the
real runs are in tests/test_tokens.py and the example project's tests)."""
from __future__ import annotations

import re

import numpy as np
import pytest

from bench.engine.equivalence.partial_window import _reasons as partial_reasons
from bench.engine.equivalence.trajectory import simulated_ema
from bench.judge.reasons import _ema_reason


def test_an_ema_updated_on_every_micro_batch_is_the_ema_with_momentum_to_the_k():
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=5) for _ in range(4)]
    once, per_micro = simulated_ema(weights, 0.9), simulated_ema(weights, 0.9, per_update=4)
    # the first update copies the weights; then k - 1 moves towards the weights before each
    # update and one towards those after it
    expected = weights[0].copy()
    for before, after in zip(weights, weights[1:]):
        expected = 0.9 ** 3 * expected + (1 - 0.9 ** 3) * before
        expected = 0.9 * expected + 0.1 * after
    assert per_micro == pytest.approx(expected)
    assert not np.allclose(once, per_micro)


def test_the_ema_reason_names_the_per_micro_batch_update_only_when_it_matches():
    ema = {"momentum": 0.9, "trajectory": [0.01, 0.04], "ratio": 1000.0,
           "per_micro_batch_rel_error": 2e-5, "per_update_rel_error": 4e-2}
    assert "updated on every micro-batch" in _ema_reason(ema, 8) and "0.43" in _ema_reason(ema, 8)
    other = {**ema, "per_micro_batch_rel_error": 3e-2}
    assert "drifts 1e+03x its noise floor" in _ema_reason(other, 8)


@pytest.mark.parametrize("facts,expected", [
    ({"ratio": 0.1, "passed": True, "optimizer_steps": 2}, "applied as the large batch applies"),
    ({"ratio": 900.0, "passed": False, "optimizer_steps": 1}, "never applied"),
    ({"ratio": 900.0, "passed": False, "optimizer_steps": 2, "scale": 0.5,
      "scaled_rel_error": 1e-7}, "wrong weight: its gradient is 0.5x .* = 2/4"),
    ({"ratio": 900.0, "passed": False, "optimizer_steps": 2, "scale": 0.9,
      "scaled_rel_error": 0.3}, "900x the noise floor"),
])
def test_a_partial_window_is_named_by_what_happened_to_it(facts, expected):
    base = {"k": 4, "partial_micro_batches": 2, "samples": 32,
            "distance_to_first_update_only": 1e-8}
    assert re.search(expected, partial_reasons({**base, **facts})[0])
