"""Token losses: real text offline, the mask aligned with the targets' weights, and the
harness's accumulation normalised by the window's token count (issue 29)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.config.request import EquivalenceRequest
from bench.data import load_dataset, text
from bench.data.user import load_plugin
from bench.judge.reasons import _counter_reason
from models.specs import SequenceSpec

FORTUNES = Path("/usr/share/games/fortunes/fortunes")


def test_encoding_masks_exactly_the_positions_whose_target_is_padding():
    x, y, w = text.encode([b"ab", b"hello world", b"x" * 500])
    assert x.shape == y.shape == w.shape == (3, text.LENGTH)
    assert list(x[0, :3]) == [text.START, ord("a") + 1, ord("b") + 1]
    assert list(y[0, :3]) == [ord("a") + 1, ord("b") + 1, text.END]
    assert np.array_equal(x != 0, y != 0) and np.array_equal(w, (y != 0).astype(np.float32))
    assert w.sum(axis=1).tolist() == [3, 12, text.LENGTH]  # unequal counts, truncated at LENGTH


@pytest.mark.skipif(not FORTUNES.exists(), reason="Debian's fortunes is not installed here")
def test_real_text_from_debian_fortunes():
    data = load_dataset("fortunes")
    assert isinstance(data.spec, SequenceSpec) and data.provenance.real
    assert "Debian package fortunes" in data.provenance.source
    assert len(data.train) > 10_000 and len(data.test) > 1_000
    counts = data.train.weight.sum(axis=1)
    assert counts.min() < 40 and counts.max() == text.LENGTH  # uneven lengths, some truncated
    assert 0.05 < data.test_statistics()["test_majority_rate"] < 0.3  # the space, of real tokens


def test_a_users_text_directory_and_a_users_token_loader(tmp_path, monkeypatch):
    (tmp_path / "quotes").write_text("short\n%\na longer quotation here\n%\n")
    data = load_dataset(str(tmp_path))
    assert len(data.train) + len(data.test) == 2 and data.provenance.origin == "user-provided"
    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "examples/my_project"))
    tokens = load_plugin("my_text:tokens")
    assert isinstance(tokens.spec, SequenceSpec) and tokens.train.weight.shape == tokens.train.y.shape
    assert np.array_equal(tokens.train.weight, (tokens.train.y != 0).astype(np.float32))


def test_synthetic_text_has_the_schema():
    data = load_dataset("synthetic_fortunes", limit_train=64, limit_test=16)
    assert isinstance(data.spec, SequenceSpec) and not data.provenance.real
    assert np.array_equal(data.train.x != 0, data.train.y != 0)


@pytest.mark.slow
def test_accumulation_divides_by_the_windows_tokens_and_the_mean_of_means_is_named():
    from bench.engine.equivalence.analysis import analyse

    strategies = ("accumulate", "accumulate_mean_of_means", "keras_builtin")
    req = EquivalenceRequest(model="char_lm", strategies=strategies, effective_batch=16,
                             micros=(4,), dataset="synthetic_fortunes", preset="small", updates=3)
    r = {x["strategy"]: x for x in analyse(req)}
    assert r["accumulate"]["verdict"] == "equivalent", r["accumulate"]["reasons"]
    assert r["accumulate"]["gradient_rel_error"] <= 1e-5
    assert len(r["accumulate"]["window_tokens"]) == 3
    for name in ("accumulate_mean_of_means", "keras_builtin"):
        assert r[name]["verdict"] == "not equivalent"
        assert "the mean of micro-batch means" in r[name]["reasons"][0]
        factors = r[name]["diagnostics"]["micro_batch_factors"]
        counts = r[name]["diagnostics"]["micro_batch_tokens"]
        assert factors == pytest.approx([np.mean(counts) / c for c in counts])
    assert r["keras_builtin"]["diagnostics"]["mean_of_means_rel_error"] <= 1e-6


def test_a_step_counter_ahead_by_any_factor_is_named_with_it():
    record = {"lr_steps": [1, 3, 9, 19, 39], "reference_lr_steps": [0, 1, 2, 3, 4],
              "trajectory_ratio": 126.0}
    note = _counter_reason(record, k=4)
    assert "advanced 9.5x per update" in note and "1, 3, 9, 19" in note
    assert "once per micro-batch" in _counter_reason(
        {**record, "lr_steps": [3, 7, 11, 15, 19]}, k=4)
    assert _counter_reason({**record, "lr_steps": [0, 1, 2, 3, 4]}, k=4) is None
