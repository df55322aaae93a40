"""The pytest plugin that `pip install accumbench` registers (entry point `pytest11`):

    def test_my_accumulation(accumbench):
        accumbench.assert_equivalent(model="my_models:build", data="data/small.npz",
                                     strategy="my_training:accumulating_model",
                                     effective_batch=256, micro=64)

A failing test prints the verdict and its measured reasons. Importing this plugin imports no
TensorFlow; the fixture does, when a test uses it.
"""
from __future__ import annotations

import pytest

from bench.api import assert_equivalent, check_equivalence, explain


class AccumBench:
    """What the `accumbench` fixture gives a test."""

    def check_equivalence(self, **kwargs) -> dict:
        return check_equivalence(**kwargs)

    def assert_equivalent(self, **kwargs) -> dict:
        __tracebackhide__ = True
        return assert_equivalent(**kwargs)

    def explain(self, record: dict) -> str:
        return explain(record)


@pytest.fixture
def accumbench() -> AccumBench:
    """Check a model's accumulation code against the large batch (levels 1 and 2)."""
    return AccumBench()
