"""A calibration workload: a fixed, plain Keras training step that uses none of the harness's
code, timed in the same sweep as the configurations.

Its purpose is to compare speed across machines: a configuration's update time divided by this
step's time is roughly machine-independent (both scale with the machine's TensorFlow speed), so
a regression check can tell "this code got slower" from "this machine is slower". The model
(two convolutions and a dense layer on 28x28 inputs, batch 64) and its data are fixed by seed.
"""
from __future__ import annotations

import time
from typing import Any

import keras
import numpy as np

from bench.config.calibration import STEPS, CalibrationSpec
from bench.engine.measure.environment import describe
from bench.results.identity import SCHEMA

WARMUP = 5


def calibrate(steps: int = STEPS, warmup: int = WARMUP) -> dict:
    """Seconds per `train_on_batch` step of the fixed model; the steady ones (after warm-up)."""

    keras.utils.set_random_seed(1234)
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(64, 3, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10),
    ])
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(1234)
    x = rng.random((64, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, 64)
    seconds = []
    for _ in range(steps):
        start = time.perf_counter()
        float(model.train_on_batch(x, y))  # float(): waits for the device
        seconds.append(time.perf_counter() - start)
    steady = seconds[warmup:]
    return {"step_seconds": steady, "median_s": float(np.median(steady)),
            "what": "keras.Sequential(Conv2D 32, MaxPool, Conv2D 64, Dense 64, Dense 10), "
                    "Adam, train_on_batch at batch 64 on fixed random data"}


def calibration_record(spec: CalibrationSpec) -> dict[str, Any]:
    started = time.perf_counter()
    result = calibrate()
    return {"kind": "calibration", "schema": SCHEMA, "id": spec.identity().to_dict(),
            "status": "ok", **result, "environment": describe(),
            "seconds": {"total": round(time.perf_counter() - started, 3)}}
