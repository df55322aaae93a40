"""A job: what one child process does, the records it must produce, and how a failed one reads.

Jobs travel as JSON (to a worker over a pipe, or in a file for a one-shot process). A job that
measures speed or memory is *exclusive*: nothing else may run on the machine beside it. Outcome
runs and equivalence analyses measure neither, so a sweep may run several at once, each with
fewer threads.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.config.calibration import CalibrationSpec
from bench.config.request import EquivalenceRequest
from bench.config.run import RunConfig, base_record
from bench.config.speed import SpeedSpec
from bench.results.identity import SCHEMA, Identity

#: a job kind -> the spec it carries (a new kind is one entry here and one in
#: bench.engine.worker.child.run_here)
SPECS = {"run": RunConfig, "speed": SpeedSpec, "equivalence": EquivalenceRequest,
         "calibration": CalibrationSpec}


@dataclass(frozen=True, kw_only=True)
class Job:
    kind: str
    spec: RunConfig | SpeedSpec | EquivalenceRequest | CalibrationSpec
    timeout: float | None = None
    threads: int | None = field(default=None, metadata={
        "help": "TensorFlow intra- and inter-op threads (None: TensorFlow's default)"})
    env: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        expected = SPECS.get(self.kind)
        if expected is None or not isinstance(self.spec, expected):
            raise TypeError(f"a {self.kind!r} job needs a {getattr(expected, '__name__', '?')}")

    @classmethod
    def run(cls, cfg: RunConfig, **kw) -> "Job":
        return cls(kind="run", spec=cfg, **kw)

    @classmethod
    def speed(cls, spec: SpeedSpec, **kw) -> "Job":
        return cls(kind="speed", spec=spec, **kw)

    @classmethod
    def equivalence(cls, req: EquivalenceRequest, **kw) -> "Job":
        return cls(kind="equivalence", spec=req, **kw)

    @classmethod
    def calibration(cls, position: str, **kw) -> "Job":
        return cls(kind="calibration", spec=CalibrationSpec(position=position), **kw)

    @property
    def exclusive(self) -> bool:
        """Measures speed or memory: must have the machine to itself."""
        return self.kind in ("calibration", "speed") or (self.kind == "run"
                                                         and self.spec.purpose == "measure")

    @property
    def model(self) -> str:
        return self.spec.model

    def env_dict(self) -> dict[str, str]:
        return dict(self.env)

    def identities(self) -> list[Identity]:
        if self.kind in ("equivalence", "speed"):
            return self.spec.identities()
        return [self.spec.identity()]

    def replicas(self) -> int:
        s = self.spec
        return max(getattr(s, "replicas", 1), getattr(s, "reference_replicas", None) or 1)

    def data_requests(self) -> list[dict[str, Any]]:
        """load_dataset() calls this job will make, so a worker can make them first."""
        s = self.spec
        if self.kind == "calibration":
            return []
        if self.kind == "run":
            return [{"model": s.model, "output": s.model_output, "dataset": s.dataset,
                     "seed": s.seed, "limit_train": s.limit_train, "limit_test": s.limit_test}]
        if self.kind == "speed":
            first = s.configurations[0]
            return [{"model": first.model, "output": first.model_output,
                     "dataset": first.dataset, "seed": first.seed,
                     "limit_train": s.limit_train, "limit_test": first.limit_test}]
        return [{"model": s.model, "output": s.model_output, "dataset": s.dataset, "seed": s.seed,
                 "limit_train": s.updates * s.effective_batch, "limit_test": None}]

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "spec": self.spec.to_json(), "timeout": self.timeout,
                "threads": self.threads, "env": [list(p) for p in self.env]}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Job":
        return cls(kind=d["kind"], spec=SPECS[d["kind"]].from_json(d["spec"]), timeout=d.get("timeout"),
                   threads=d.get("threads"), env=tuple(tuple(p) for p in d.get("env", ())))

    def failure_records(self, status: str, error: str, seconds: float) -> list[dict[str, Any]]:
        """The rows of a job whose process failed: one per record it should have written."""
        if self.kind in ("run", "speed"):
            out = []
            for cfg in self.spec.configurations if self.kind == "speed" else [self.spec]:
                record = base_record(cfg)
                record.update(status=status, error=error, seconds={"total": round(seconds, 3)})
                out.append(record)
            return out
        if self.kind == "calibration":
            return [{"kind": "calibration", "schema": SCHEMA,
                     "id": self.spec.identity().to_dict(), "status": status, "error": error,
                     "seconds": {"total": round(seconds, 3)}}]
        req = self.spec
        out = []
        for (strategy, plan), ident in zip(req.combinations(), req.identities()):
            out.append({"kind": "equivalence", "schema": SCHEMA, "id": ident.to_dict(),
                        "status": status, "error": error, "model": req.model,
                        "strategy": strategy, "effective_batch": req.effective_batch,
                        "micro": plan.micro, "accum": plan.accum, "replicas": req.replicas,
                        "pair": plan.label, "dtype": req.dtype, "lr_schedule": req.lr_schedule,
                        "updates": req.updates, "verdict": "failed", "reasons": [error],
                        "levels": {}, "seconds": {"total": round(seconds, 3)}})
        return out
