"""The (effective batch, micro-batch, accumulation steps, replicas) arithmetic, validated once."""
from __future__ import annotations

from dataclasses import dataclass

from bench.errors import BenchError


@dataclass(frozen=True)
class AccumulationPlan:
    """B = micro x accum x replicas. One update consumes one window of B samples."""

    effective_batch: int
    micro: int
    replicas: int = 1

    @property
    def accum(self) -> int:
        return self.effective_batch // (self.micro * self.replicas)

    @property
    def global_micro(self) -> int:
        """Samples per micro-step across all replicas."""
        return self.micro * self.replicas

    @property
    def label(self) -> str:
        r = f"x{self.replicas}rep" if self.replicas > 1 else ""
        return f"{self.micro}x{self.accum}{r}"

    @classmethod
    def of(cls, effective_batch: int, micro: int | None = None, accum: int | None = None,
           replicas: int = 1) -> "AccumulationPlan":
        """Validate a user's pair; any inconsistency is a BenchError naming the numbers."""
        for name, value in (("effective batch", effective_batch), ("micro-batch", micro),
                            ("accumulation steps", accum), ("replicas", replicas)):
            if value is not None and (not isinstance(value, int) or value <= 0):
                raise BenchError(f"{name} must be a positive integer, got {value!r}")
        if micro is None:
            if accum is None:
                raise BenchError("give the micro-batch size or the number of accumulation steps")
            if effective_batch % (accum * replicas):
                raise BenchError(f"effective batch {effective_batch} is not divisible by "
                                 f"accum {accum} x replicas {replicas}")
            micro = effective_batch // (accum * replicas)
        if effective_batch % (micro * replicas):
            raise BenchError(f"effective batch {effective_batch} is not divisible by micro-batch "
                             f"{micro} x replicas {replicas}: no whole number of accumulation steps")
        plan = cls(effective_batch, micro, replicas)
        if accum is not None and plan.accum != accum:
            raise BenchError(f"micro-batch {micro} x accum {accum} x replicas {replicas} = "
                             f"{micro * accum * replicas}, not the effective batch {effective_batch}")
        return plan


def pairs_down_to(effective_batch: int, smallest_fraction: int) -> list[AccumulationPlan]:
    """B x1, B/2 x2, ... down to B/smallest_fraction (powers of two that divide B)."""
    plans, k = [], 1
    while k <= smallest_fraction and effective_batch % k == 0:
        plans.append(AccumulationPlan.of(effective_batch, accum=k))
        k *= 2
    return plans
