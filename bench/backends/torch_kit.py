"""PyTorch: the model is a `torch.nn.Module`; the gradient is `torch.autograd.grad` of the loss
over the Keras variables' tensors, the update `optimizer.apply` (Keras' fused `_foreach` Adam),
both eager, as Keras' own torch train step does them. On a GPU the allocator's peak is reset
before each configuration (`TorchPeak`)."""
from __future__ import annotations

from importlib.metadata import version

import torch

from bench.backends.kit import Gradients, Kit, PeakReader


class TorchPeak(PeakReader):
    """`torch.cuda.max_memory_allocated()` after `reset_peak_memory_stats()`: allocated bytes
    (the caching allocator's reserved memory is NVML's business)."""

    def __init__(self, cuda) -> None:
        self.cuda = cuda

    def reset(self) -> None:
        self.cuda.synchronize()
        self.cuda.reset_peak_memory_stats()

    def read(self) -> int:
        self.cuda.synchronize()
        return int(self.cuda.max_memory_allocated())


class TorchKit(Kit):
    name = "torch"

    def gradients(self, model, loss) -> Gradients:
        def run(x, y, w, divisor):
            variables = [v.value for v in model.trainable_variables]
            value = loss(y, model(x, training=True), sample_weight=w) / divisor
            return value.detach(), list(torch.autograd.grad(value, variables))
        return run

    def applier(self, optimizer, model):
        def run(grads):
            optimizer.apply(grads, model.trainable_variables)
        return run

    def wait(self, value) -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()

    def device(self) -> str:
        if torch.cuda.is_available():
            return f"cuda: {torch.cuda.get_device_name(0)}"
        return "cpu"

    def versions(self) -> dict[str, str]:
        return {"keras": version("keras"), "torch": torch.__version__}

    def accelerator_peak(self) -> PeakReader | None:
        return TorchPeak(torch.cuda) if torch.cuda.is_available() else None
