"""Did the large batch learn? Each seed against its own test set's majority class."""
from __future__ import annotations

from bench.report.rows import large_batch_learned


def test_each_seed_is_judged_against_its_own_majority_class():
    # the census stand-in draws its data per seed: majority rates 0.765, 0.6275, 0.7562
    learned, note = large_batch_learned([0.842, 0.7809, 0.8562], [0.765, 0.6275, 0.7562], None)
    assert learned and "every seed at least 7.7 points above" in note
    # one seed at its majority class: nothing learned on it
    learned, note = large_batch_learned([0.842, 0.64, 0.8562], [0.765, 0.6275, 0.7562], None)
    assert not learned and "(0.640) is not clearly above its test set's majority class (0.627)" in note


def test_a_bar_decides_when_the_profile_sets_one():
    assert large_batch_learned([0.81, 0.82], [0.1, 0.1], 0.80)[0]
    assert not large_batch_learned([0.79, 0.82], [0.1, 0.1], 0.80)[0]
