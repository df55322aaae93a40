"""The backend lane (JAX, PyTorch): its rules without a framework, then the lane itself where
the `backends` extra is installed (`make setup-backends`; CI installs it)."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from bench.config.lane_costs import LaneCostRequest
from bench.config.request import EquivalenceRequest
from bench.errors import BenchError
from bench.judge.distance import one_ulp
from tests.helpers import ROOT, cli

FRAMEWORKS = {b: importlib.util.find_spec(p) is not None for b, p in (("jax", "jax"),
                                                                        ("torch", "torch"))}
needs = {b: pytest.mark.skipif(not ok, reason=f"{b} not installed: make setup-backends")
         for b, ok in FRAMEWORKS.items()}


def _request(**kw) -> EquivalenceRequest:
    base = dict(model="cnn", strategies=("accumulate",), effective_batch=32, micros=(8,),
                backend="jax")
    return EquivalenceRequest(**{**base, **kw})


@pytest.mark.parametrize("kw, says", [
    ({"model": "grn_vsn"}, "StringLookup"),
    ({"strategies": ("keras_builtin_fixed",)}, "the backend lane runs"),
    ({"dtype": "mixed_float16"}, "float32 or float64"),
    ({"jit": True}, "JAX compiles every step"),
    ({"backend": "mxnet"}, "unknown backend"),
])
def test_the_lane_refuses_what_it_does_not_run_with_the_reason(kw, says):
    with pytest.raises(BenchError, match=says):
        _request(**kw)


def test_a_lane_record_names_its_backend_in_its_identity():
    jax, tf = _request(), _request(backend="tensorflow")
    assert "jax" in jax.identities()[0].name and jax.identities()[0].key != tf.identities()[0].key
    assert "jax" not in tf.identities()[0].name


def test_cost_requests_validate_and_split_memory_into_processes():
    req = LaneCostRequest(model="cnn", backend="torch", effective_batch=32, micros=(16, 8))
    assert [(c.strategy, c.plan.label) for c in req.configurations()][:2] == [
        ("large_batch", "32x1"), ("accumulate", "16x2")]
    memory = req.memory_requests()
    assert len(memory) == len(req.configurations())
    assert len({m.identity().key for m in memory}) == len(memory)
    with pytest.raises(BenchError, match="TensorFlow only"):
        LaneCostRequest(model="grn_vsn", backend="jax", effective_batch=32, micros=(8,))


def test_one_ulp_moves_every_weight_but_exact_zeros():
    w = [np.array([0.0, 1.0, -2.5], np.float32)]
    up = one_ulp(w, np.inf)[0]
    assert up[0] == 0.0 and up[1] == np.nextafter(np.float32(1), np.float32(2))
    assert up[2] == np.nextafter(np.float32(-2.5), np.float32(0))


class FakeCuda:
    def __init__(self):
        self.calls, self.peak = [], 0

    def synchronize(self):
        self.calls.append("sync")

    def reset_peak_memory_stats(self):
        self.calls.append("reset")
        self.peak = 0

    def max_memory_allocated(self):
        return self.peak


class FakeJaxDevice:
    def memory_stats(self):
        return {"peak_bytes_in_use": 123 << 20, "bytes_in_use": 1 << 20}


def test_gpu_peak_readers_at_their_boundary():
    pytest.importorskip("torch")
    pytest.importorskip("jax")
    from bench.backends.jax_kit import JaxPeak
    from bench.backends.torch_kit import TorchPeak

    cuda = FakeCuda()
    peak = TorchPeak(cuda)
    peak.reset()
    cuda.peak = 77 << 20
    assert peak.read() == 77 << 20 and cuda.calls == ["sync", "reset", "sync"]
    jax_peak = JaxPeak(FakeJaxDevice())
    jax_peak.reset()  # nothing to reset: one configuration per process
    assert jax_peak.read() == 123 << 20 and not jax_peak.resettable


BLOCKED = """
import importlib.util, sys
from bench.backends.block import block_tensorflow, tensorflow_loaded
block_tensorflow()
assert importlib.util.find_spec("tensorflow") is not None  # asking is answered
try:
    import tensorflow
except ImportError as e:
    print("refused:", e)
assert "tensorflow" not in sys.modules and not tensorflow_loaded()
"""


def test_tensorflow_is_refused_in_a_blocked_process_and_absent_after():
    out = subprocess.run([sys.executable, "-c", BLOCKED], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "refused: tensorflow is blocked in the backend lane" in out.stdout


SCHEDULE = """
import keras
from bench.engine.training.optim import make_schedule
from bench.errors import BenchError
try:
    make_schedule("exponential", 1e-3, 10)
except BenchError as e:
    print(e)
"""


@needs["jax"]
def test_recorded_schedule_refuses_jax_instead_of_recording_nothing():
    out = subprocess.run([sys.executable, "-c", SCHEDULE], cwd=ROOT, capture_output=True,
                         text=True, timeout=300, env={**os.environ,
                                                      "KERAS_BACKEND": "jax"})
    assert "RecordedSchedule runs on TensorFlow only" in out.stdout, out.stderr[-2000:]


def _equivalence(backend: str, *args: str) -> list[dict]:
    out = cli("equivalence", "--backend", backend, "--json", *args, timeout=900)
    assert out.returncode in (0, 1), out.stderr[-3000:]
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.parametrize("backend", [pytest.param(b, marks=needs[b]) for b in ("jax", "torch")])
def test_the_lane_judges_the_cnn_on_its_backend_with_tensorflow_blocked(backend):
    """Accumulation equivalent; Keras' built-in with a decaying rate not (its schedule reads the
    micro-step counter, on this backend too); the blog loop not (the last micro-batch alone)."""
    records = {r["strategy"]: r for r in _equivalence(
        backend, "--model", "cnn", "--effective-batch", "32", "--micro", "8", "--strategy",
        "accumulate,keras_builtin,naive", "--updates", "4", "--lr-schedule", "exponential")}
    for r in records.values():
        lane = r["backend_lane"]
        assert r["backend"] == backend and lane["backend"] == backend
        assert lane["tensorflow_loaded"] is False and lane["large_batch_vs_tensorflow"]
    assert records["accumulate"]["verdict"] == "equivalent"
    builtin = records["keras_builtin"]
    assert builtin["verdict"] == "not equivalent" and builtin["levels"]["gradient"] == "pass"
    assert builtin["lr_steps"] == [3, 7, 11, 15]
    assert any("schedule advanced per micro-batch" in x for x in builtin["reasons"])
    naive = records["naive"]
    assert naive["verdict"] == "not equivalent"
    assert naive["diagnostics"]["last_micro_batch_rel_error"] < 1e-5


@pytest.mark.slow
@pytest.mark.e2e
@needs["jax"]
def test_the_token_loss_on_jax_mean_of_means_is_not_the_window_mean():
    records = {r["strategy"]: r for r in _equivalence(
        "jax", "--model", "char_lm", "--effective-batch", "16", "--micro", "4", "--strategy",
        "accumulate,accumulate_mean_of_means", "--updates", "3", "--preset", "small")}
    assert records["accumulate"]["verdict"] == "equivalent"
    mean_of_means = records["accumulate_mean_of_means"]
    assert mean_of_means["verdict"] == "not equivalent"
    assert "mean of micro-batch means" in mean_of_means["reasons"][0]


@pytest.mark.slow
@needs["jax"]
def test_jax_memory_has_the_compiled_analysis_and_rss_per_configuration():
    from bench.data import Sources
    from bench.execute.lane import run_lane

    req = LaneCostRequest(model="cnn", backend="jax", effective_batch=32,
                          configs=(("accumulate", 8),), memory_updates=2)
    large, small = (run_lane("jax", {"task": "measure", "request": m,
                                     "sources": Sources.from_env()})["memory"]
                    for m in req.memory_requests())
    assert large["status"] == small["status"] == "ok"
    assert small["compiled"]["held_between_steps"] > 0 == large["compiled"]["held_between_steps"]
    # XLA's plan is deterministic: the same configuration plans the same bytes again
    again = run_lane("jax", {"task": "measure", "request": req.memory_requests()[1],
                             "sources": Sources.from_env()})["memory"]
    assert again["compiled"] == small["compiled"]
    assert large["rss_peak_above_baseline"] > 0 and large["accelerator_peak"] is None


DENORMAL = """
import sys
from bench.backends.block import block_tensorflow
block_tensorflow()
import keras, numpy as np
from bench.backends.torch_kit import TorchKit
from bench.data import Sources, load_dataset
from bench.judge.distance import compare, one_ulp
from bench.portable.comparable import make_comparable
from bench.portable.objective import summed_loss
from models.registry import get_model
data = load_dataset("fashion_mnist", sources=Sources.from_env(), seed=0, limit_train=64)
keras.utils.set_random_seed(0)
model = get_model("cnn").build(data.spec)
make_comparable(model)
initial = model.get_weights()
grads = TorchKit().gradients(model, summed_loss("logits", 10))
x, y, w = data.train.x[:64].astype("float32"), data.train.y[:64], np.ones(64, "float32")
def at(weights):
    model.set_weights(weights)
    return [keras.ops.convert_to_numpy(g) for g in grads(x, y, w, 64.0)[1]]
base, names = at(initial), [str(i) for i in range(len(initial))]
denormal = [np.nextafter(a, np.inf).astype(a.dtype) for a in initial]
print(compare(at(denormal), base, names).overall_rel_error,
      compare(at(one_ulp(initial, np.inf)), base, names).overall_rel_error)
"""


@needs["torch"]
def test_a_denormal_bias_moves_torchs_gradient_far_beyond_rounding():
    """Why `one_ulp` keeps zeros: PyTorch keeps denormals, so the smallest positive bias turns
    on every ReLU whose input was exactly zero (the CNN's zero biases over blank pixels)."""
    out = subprocess.run([sys.executable, "-c", DENORMAL], cwd=ROOT, capture_output=True,
                         text=True, timeout=300, env={**os.environ,
                                                      "KERAS_BACKEND": "torch"})
    assert out.returncode == 0, out.stderr[-2000:]
    with_denormals, zeros_kept = map(float, out.stdout.split()[-2:])
    assert with_denormals > 1e-3 and zeros_kept < 1e-5


RECOMPILES = """
from bench.backends.block import block_tensorflow
block_tensorflow()
import jax, keras, numpy as np
L = keras.layers
events = []
jax.monitoring.register_event_duration_secs_listener(
    lambda event, duration, **kw: events.append(event) if "backend_compile" in event else None)
x, y = np.random.rand(16, 28, 28, 1).astype("float32"), np.random.randint(0, 10, 16)
for zoom in (False, True):
    for steps in (None, 4):
        layers = [L.RandomZoom(0.2, 0.2)] if zoom else []
        inputs = keras.Input((28, 28, 1))
        h = inputs
        for layer in [*layers, L.Flatten(), L.Dense(10)]:
            h = layer(h)
        model = keras.Model(inputs, h)
        model.compile(optimizer=keras.optimizers.Adam(1e-3, gradient_accumulation_steps=steps),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        for _ in range(3):
            model.train_on_batch(x, y)
        before = len(events)
        for _ in range(4):
            model.train_on_batch(x, y)
        print(zoom, steps, len(events) - before)
"""


@needs["jax"]
def test_keras_builtin_on_jax_recompiles_every_call_with_a_random_zoom():
    """Why Keras' built-in is slow on JAX for the patch models (README: Not done): with
    `gradient_accumulation_steps` set, a model with a RandomZoom layer compiles new XLA
    computations on every `train_on_batch`; without accumulation, or without the layer, none."""
    out = subprocess.run([sys.executable, "-c", RECOMPILES], cwd=ROOT, capture_output=True,
                         text=True, timeout=300, env={**os.environ, "KERAS_BACKEND": "jax"})
    assert out.returncode == 0, out.stderr[-2000:]
    counts = {tuple(line.split()[:2]): int(line.split()[2]) for line in out.stdout.splitlines()}
    assert counts[("False", "None")] == counts[("False", "4")] == counts[("True", "None")] == 0
    assert counts[("True", "4")] >= 4


def test_the_backends_profile_asks_level_3_per_backend_and_seed():
    from bench.config.lane_outcome import LaneOutcomeRequest
    from bench.config.lane_profile import LaneProfile

    requests = LaneProfile.load().outcome()
    assert {(r.backend, r.model) for r in requests} == {("jax", "cnn"), ("torch", "cnn")}
    assert len({r.identity().key for r in requests}) == len(requests) == 10
    first = requests[0].configurations()
    assert [(c.strategy, c.plan.label) for c in first[:2]] == [("large_batch", "128x1"),
                                                               ("accumulate", "16x8")]
    assert {c.lr_schedule for c in first} == {"cosine"}
    base = dict(model="cnn", backend="jax", effective_batch=32, configs=(("accumulate", 8),),
                seed=0, updates=4)
    for kw, says in [({"backend": "tensorflow"}, "study profile"),
                     ({"model": "grn_vsn"}, "TensorFlow only"),
                     ({"margin": 0.0}, "margin"), ({"lr_schedule": "step"}, "schedule")]:
        with pytest.raises(BenchError, match=says):
            LaneOutcomeRequest(**{**base, **kw})


def _outcome_record(backend: str, seed: int, accuracies: dict[str, float], bar: float = 0.7,
                    status: str = "ok") -> dict:
    runs = [{"strategy": s, "pair": "128x1" if s == "large_batch" else "16x8", "status": "ok",
             "accuracy": a, "epochs": 1.0} for s, a in accuracies.items()]
    body = {"seed": seed, "runs": runs, "margin": 0.01, "bar": bar} if status == "ok" else {
        "error": "in the jax lane: killed", "runs": None}
    return {"kind": "backend_outcome", "id": {"name": f"cnn:backend_outcome:{backend}:seed{seed}"},
            "status": status, "backend": backend, "model": "cnn", **body}


def test_level_3_on_the_backends_pairs_seeds_within_a_backend_and_judges_the_margin():
    from bench.report.backend_outcome import outcome_rows

    lb = [0.80, 0.82, 0.78, 0.81, 0.79]
    records = [_outcome_record("jax", s, {"large_batch": a, "accumulate": a + d,
                                          "keras_builtin": a - 0.10})
               for s, (a, d) in enumerate(zip(lb, [0.001, -0.002, 0.0, 0.002, -0.001]))]
    records += [_outcome_record("torch", s, {"large_batch": 0.5, "accumulate": 0.5})
                for s in range(3)]
    records.append(_outcome_record("torch", 3, {}, status="error"))
    rows = {(r.backend, r.strategy): r for r in outcome_rows(records)}
    assert rows[("jax", "accumulate")].verdict.verdict == "equivalent"
    builtin = rows[("jax", "keras_builtin")]
    assert builtin.verdict.verdict == "different"
    assert builtin.verdict.mean_difference == pytest.approx(-0.10)
    assert builtin.reference == lb  # each seed against its own large batch
    torch = rows[("torch", "accumulate")]  # below the bar: nothing judged, the lost seed named
    assert torch.verdict.verdict == "not judged" and "below the bar" in torch.verdict.reason
    assert torch.failed == ["cnn:backend_outcome:torch:seed3: in the jax lane: killed"]


@pytest.mark.slow
@pytest.mark.e2e
@needs["jax"]
def test_level_3_trains_every_strategy_from_one_seed_in_a_lane_process():
    from bench.config.lane_outcome import LaneOutcomeRequest
    from bench.data import Sources
    from bench.execute.lane import run_lane

    req = LaneOutcomeRequest(model="cnn", backend="jax", effective_batch=32, seed=1, updates=6,
                             configs=(("accumulate", 8), ("keras_builtin", 8)),
                             limit_train=128, limit_test=100)
    out = run_lane("jax", {"task": "outcome", "request": req, "sources": Sources.from_env()})
    runs = {r["strategy"]: r for r in out["runs"]}
    assert set(runs) == {"large_batch", "accumulate", "keras_builtin"}
    assert all(r["status"] == "ok" and 0 <= r["accuracy"] <= 1 for r in runs.values())
    assert runs["accumulate"]["optimizer_steps"] == runs["large_batch"]["optimizer_steps"] == 6
    assert runs["keras_builtin"]["optimizer_steps"] == 6 * 4  # its counter counts micro-steps
    assert runs["large_batch"]["epochs"] == pytest.approx(1.5)  # 4 updates per epoch of 128
    assert out["test_samples"] == 100 and len(out["initial_weights_sha"]) == 16
