"""JAX: the gradient is `jax.value_and_grad` of `model.stateless_call`, the update
`optimizer.stateless_apply`, both jitted, as Keras' own JAX train step does them; the results
are written back into the Keras variables between calls, so the loops in `train` read like
eager code. On CPU JAX keeps no memory statistics; the compiled step's memory analysis stands
in (`compiled_memory`)."""
from __future__ import annotations

from importlib.metadata import version

import jax

from bench.backends.kit import Gradients, Kit, PeakReader


def _values(variables) -> list:
    return [v.value for v in variables]


class JaxPeak(PeakReader):
    """`device.memory_stats()["peak_bytes_in_use"]`: jax keeps it for the process's life (no
    reset in jax <= 0.11), so the lane measures one configuration per process with it."""

    resettable = False

    def __init__(self, device) -> None:
        self.device = device

    def reset(self) -> None:
        """Nothing to reset: the caller runs one configuration in this process."""

    def read(self) -> int:
        return int(self.device.memory_stats()["peak_bytes_in_use"])


class JaxKit(Kit):
    name = "jax"

    def prepare(self, precision: str) -> None:
        # float64 arrays exist in JAX only with x64 on (else they silently become float32)
        jax.config.update("jax_enable_x64", precision == "float64")

    def gradients(self, model, loss) -> Gradients:
        def objective(trainable, non_trainable, x, y, w, divisor):
            pred, non_trainable = model.stateless_call(trainable, non_trainable, x, training=True)
            return loss(y, pred, sample_weight=w) / divisor, non_trainable

        step = jax.jit(jax.value_and_grad(objective, has_aux=True))

        def run(x, y, w, divisor):
            (value, non_trainable), grads = step(_values(model.trainable_variables),
                                                 _values(model.non_trainable_variables),
                                                 x, y, w, divisor)
            for v, new in zip(model.non_trainable_variables, non_trainable):
                v.assign(new)
            return value, list(grads)

        run.compiled = lambda x, y, w, divisor: step.lower(  # type: ignore[attr-defined]
            _values(model.trainable_variables), _values(model.non_trainable_variables),
            x, y, w, divisor).compile()
        return run

    def applier(self, optimizer, model):
        step = jax.jit(optimizer.stateless_apply)

        def run(grads):
            trainable, opt_vars = step(_values(optimizer.variables), grads,
                                       _values(model.trainable_variables))
            for v, new in zip(model.trainable_variables, trainable):
                v.assign(new)
            for v, new in zip(optimizer.variables, opt_vars):
                v.assign(new)
        return run

    def wait(self, value) -> None:
        jax.block_until_ready(value)

    def device(self) -> str:
        d = jax.devices()[0]
        return "cpu" if d.platform == "cpu" else f"{d.platform}: {d.device_kind}"

    def versions(self) -> dict[str, str]:
        return {p: version(p) for p in ("keras", "jax", "jaxlib")}

    def accelerator_peak(self) -> PeakReader | None:
        d = jax.devices()[0]
        return JaxPeak(d) if d.platform != "cpu" and d.memory_stats() else None


def compiled_memory(compiled) -> dict[str, int]:
    """What XLA planned for one compiled step, in bytes: deterministic for a model, batch and
    jax version (no sampling, no allocator), so it is exact per machine identity."""
    m = compiled.memory_analysis()
    return {"temp": int(m.temp_size_in_bytes), "arguments": int(m.argument_size_in_bytes),
            "outputs": int(m.output_size_in_bytes), "aliased": int(m.alias_size_in_bytes),
            "code": int(m.generated_code_size_in_bytes)}


def update_step(optimizer, model):
    """The lane's compiled update (`optimizer.stateless_apply`), for its memory analysis."""
    grads = [v.value for v in model.trainable_variables]
    return jax.jit(optimizer.stateless_apply).lower(
        _values(optimizer.variables), grads, _values(model.trainable_variables)).compile()


def keras_train_step(model, x, y, w):
    """Keras' own JAX train step (what `fit` and `train_on_batch` jit) at one batch, compiled
    for its memory analysis; `model` must be compiled."""
    state = model._get_jax_state(trainable_variables=True, non_trainable_variables=True,
                                 optimizer_variables=True, metrics_variables=True)
    return jax.jit(model.train_step).lower(state, (x, y, w)).compile()
