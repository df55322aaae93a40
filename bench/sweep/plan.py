"""Expand a profile into sweep items, in the order they run.

A calibration step (a plain Keras training step, bench.engine.measure.calibration) is timed first and
last when the profile measures speed. A profile with `measure.speed_processes` times each
model's configurations side by side in that many processes (bench.config.speed), spread over
the sweep: every model's first process first, every model's last process after everything
else, the ones between after the measure runs, so a model's processes are minutes apart and
what drifts over a sweep's length moves them as it moves a rerun. Between them the
measure runs of every model (large_batch at B x1, every other strategy and speed reference at
every pair with k > 1), round by round: round 2 of any configuration starts after round 1 of
all of them, so two rounds of one configuration are not neighbours that share the machine's
state; each runs alone on the machine (where speed processes time its model it gives memory
only, but sharing the CPU made TensorFlow's allocator peaks read high more often: README,
Numbers that hold). Then per model: the equivalence analyses (one process per dtype and
schedule; they share a reference), then the outcome runs, seed by seed (the large batch first,
then every judged strategy at the outcome pair), so paired comparisons fill in as the sweep
goes.
"""
from __future__ import annotations

from dataclasses import dataclass

from bench.config.job import Job
from bench.config.request import EquivalenceRequest
from bench.config.run import RunConfig
from bench.config.speed import SpeedSpec
from bench.errors import BenchError
from bench.sweep.profiles import ModelSettings, Profile

PHASES = ("calibrate", "measure", "speed", "equivalence", "outcome")

#: The decaying schedule the equivalence level uses to expose a schedule stepped per micro-batch.
PITFALL_SCHEDULE = "exponential"


@dataclass(frozen=True)
class SweepItem:
    id: str      # readable and unique in a sweep (the pytest id)
    phase: str   # measure | equivalence | outcome
    job: Job

    @property
    def model(self) -> str:
        return self.job.model

    @property
    def group(self) -> str:
        """The worker that runs it: every data set it needs is loaded and decoded once per
        worker, and every configuration is a fresh child of it. One worker for the whole sweep,
        except that each round of the measure runs beyond the first gets a worker of its own,
        so that rounds are as independent as two sweeps are (children of one worker share its
        memory layout): rounds that all came from one worker stated intervals that a rerun's
        ratios left far more often (README: Numbers that hold)."""
        spec = self.job.spec
        if self.phase in ("measure", "speed") and getattr(spec, "round", 1) > 1:
            return f"measure-round{spec.round}"
        return "sweep"

    @property
    def keys(self) -> list[str]:
        return [i.key for i in self.job.identities()]


def _run(model: str, s: ModelSettings, strategy: str, micro: int, **kw) -> RunConfig:
    return RunConfig(model=model, strategy=strategy, effective_batch=s.effective_batch,
                     micro=micro, dataset=s.dataset, preset=s.preset,
                     model_output=s.model_output, **kw)


def _measured_pairs(s: ModelSettings) -> list[tuple]:
    """(strategy, micro[, variant]) of every measure configuration of a model."""
    m = s.measure
    pairs = ([("large_batch", s.effective_batch)] if "large_batch" in m.strategies else [])
    measured = s.measure_micros()
    pairs += [(st, micro) for micro in measured
              for st in (*m.strategies, *m.references) if st != "large_batch"
              and (st not in m.smallest_only or micro == min(measured))]
    variants = [{"precision": p} for p in m.precisions if p != "float32"]
    variants += [{"jit": True}] if m.jit else []
    ends = [s.effective_batch, *([min(measured)] if measured else [])]
    for variant in variants:  # precision and XLA rows: the variant strategies at B x1, smallest
        pairs += [(st, micro, variant) for micro in ends for st in m.variant_strategies
                  if (st == "large_batch") == (micro == s.effective_batch)]
    return pairs


def _measure_items(model: str, s: ModelSettings, repeat: int) -> list[SweepItem]:
    """Round `repeat` of the model's measure configurations (none past its own rounds)."""
    m = s.measure
    items = []
    if repeat > m.rounds:
        return items
    for seed in m.seeds:
        for strategy, micro, *variant in _measured_pairs(s):
            cfg = _run(model, s, strategy, micro, purpose="measure", seed=seed,
                       limit_train=m.updates * s.effective_batch, limit_test=m.limit_test,
                       warmup=m.warmup, round=repeat, **(variant[0] if variant else {}))
            items.append(SweepItem(cfg.identity().name, "measure", Job.run(cfg, timeout=s.timeout)))
    return items


def _speed_items(model: str, s: ModelSettings, process: int) -> list[SweepItem]:
    """Speed process `process` of the model: every measure configuration, side by side (those
    of `timed_smallest_only` strategies at the smallest pair only, none of `untimed`, precision
    and XLA variants only where `timed_variants`)."""
    m = s.measure
    if process > m.speed_processes:
        return []
    items = []
    for seed in m.seeds:
        smallest = min(s.measure_micros(), default=None)
        configs = tuple(_run(model, s, strategy, micro, purpose="speed", seed=seed,
                             limit_test=m.limit_test, probes=(), round=process,
                             **(variant[0] if variant else {}))
                        for strategy, micro, *variant in _measured_pairs(s)
                        if (strategy not in m.timed_smallest_only or micro == smallest)
                        and strategy not in m.untimed and (m.timed_variants or not variant))
        if not configs:  # a model measured for levels 1-2 only
            continue
        spec = SpeedSpec(configurations=configs, rounds=m.speed_rounds,
                         block_seconds=m.block_seconds)
        items.append(SweepItem(f"{model}:speed:seed{seed}:round{process}", "speed",
                               Job.speed(spec, timeout=s.timeout)))
    return items


def _equivalence_items(model: str, s: ModelSettings) -> list[SweepItem]:
    eq = s.equivalence
    if eq is None or not (eq.strategies or eq.keras2_strategies) or not s.accumulating:
        return []
    smallest_only = tuple(st for st in eq.strategies if st not in eq.all_pairs)
    requests = []
    for dtype in eq.dtypes if eq.strategies else ():
        strategies = (eq.strategies if dtype != "float64"
                      else (eq.float64_strategies or eq.strategies))
        micros = s.accumulating if dtype == "float32" else (min(s.accumulating),)
        requests.append((dtype, EquivalenceRequest(
            model=model, strategies=strategies, effective_batch=s.effective_batch, micros=micros,
            dataset=s.dataset, dtype=dtype, updates=eq.updates, preset=s.preset,
            smallest_only=smallest_only, model_output=s.model_output)))
    if eq.jit and eq.strategies:
        requests.append(("xla", EquivalenceRequest(
            model=model, strategies=eq.strategies, effective_batch=s.effective_batch,
            micros=(min(s.accumulating),), dataset=s.dataset, updates=eq.updates,
            preset=s.preset, jit=True, model_output=s.model_output)))
    if eq.keras2_strategies:
        requests.append(("keras2", EquivalenceRequest(
            model=model, strategies=eq.keras2_strategies, effective_batch=s.effective_batch,
            micros=s.accumulating, dataset=s.dataset, updates=eq.updates, preset=s.preset,
            model_output=s.model_output, keras=2)))
    if eq.schedule_pitfall:
        requests.append((f"{PITFALL_SCHEDULE}-lr", EquivalenceRequest(
            model=model, strategies=("keras_builtin", "accumulate"),
            effective_batch=s.effective_batch, micros=(min(s.accumulating),), dataset=s.dataset,
            updates=eq.updates, lr_schedule=PITFALL_SCHEDULE, preset=s.preset,
            model_output=s.model_output)))
    if eq.ema is not None:
        requests.append((f"ema-{eq.ema}", EquivalenceRequest(
            model=model, strategies=("keras_builtin", "accumulate"),
            effective_batch=s.effective_batch, micros=(min(s.accumulating),), dataset=s.dataset,
            updates=eq.updates, preset=s.preset, model_output=s.model_output, ema=eq.ema)))
    if eq.partial_window:
        requests.append(("partial-window", EquivalenceRequest(
            model=model, strategies=eq.strategies, effective_batch=s.effective_batch,
            micros=(min(s.accumulating),), dataset=s.dataset, updates=eq.updates,
            preset=s.preset, model_output=s.model_output, partial_window=True)))
    return [SweepItem(f"{model}:equivalence:{label}", "equivalence",
                      Job.equivalence(req, timeout=eq.timeout)) for label, req in requests]


def _outcome_items(model: str, s: ModelSettings) -> list[SweepItem]:
    o = s.outcome
    if o is None:
        return []
    pairs = [("large_batch", s.effective_batch)]
    pairs += [(st, micro) for micro in s.outcome_micros() for st in o.strategies
              if st != "large_batch"]
    items = []
    for seed in o.seeds:
        for strategy, micro in pairs:
            cfg = _run(model, s, strategy, micro, purpose="outcome", seed=seed, epochs=o.epochs,
                       limit_train=o.limit_train, limit_test=o.limit_test,
                       lr_schedule=o.lr_schedule, learning_rate=o.learning_rate,
                       eval_every=o.eval_every, probes=())
            items.append(SweepItem(cfg.identity().name, "outcome", Job.run(cfg, timeout=s.timeout)))
    return items


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """'i/n' -> (i, n), 1 <= i <= n."""
    if not text:
        return None
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise BenchError(f"shard must be i/n (e.g. 2/4), got {text!r}") from None
    if not 1 <= i <= n:
        raise BenchError(f"shard {text!r}: i must be between 1 and n")
    return i, n


def shard(items: list[SweepItem], which: tuple[int, int] | None) -> list[SweepItem]:
    """A deterministic share of a sweep: every n-th item from the i-th (the profile's order, so
    every shard gets a mix of models and phases). Each shard times its own calibration step."""
    if which is None:
        return items
    i, n = which
    work = [x for x in items if x.phase != "calibrate"]
    mine = work[i - 1::n]
    if not any(x.phase in ("measure", "speed") for x in mine):
        return mine
    tag = f"{i}of{n}"
    calibrations = [SweepItem(f"calibration:{position}:shard{tag}", "calibrate",
                              Job.calibration(f"{position}:shard{tag}", timeout=600))
                    for position in ("start", "end")]
    return [calibrations[0], *mine, calibrations[1]]


def expand(profile: Profile, only_models: list[str] | None = None) -> list[SweepItem]:
    """Every item of the profile (or of some of its models), validated: bad settings fail here."""
    if only_models:
        missing = [m for m in only_models if m not in profile.models]
        if missing:
            raise BenchError(f"profile {profile.name} has no model(s) {', '.join(missing)} "
                             f"(it has {', '.join(profile.models)})")
    chosen = {m: s for m, s in profile.models.items() if not only_models or m in only_models}
    rounds = max((max(s.measure.rounds, s.measure.speed_processes)
                  for s in chosen.values()), default=1)
    # round r of every model before round r + 1: a model's processes are minutes apart, as two
    # sweeps are
    measure = [i for repeat in range(1, rounds + 1)
               for model, s in chosen.items() for i in _measure_items(model, s, repeat)]
    rest = [i for model, s in chosen.items()
            for i in _equivalence_items(model, s) + _outcome_items(model, s)]
    speed = [x for x in ([i for model, s in chosen.items() for i in _speed_items(model, s, repeat)]
                         for repeat in range(1, rounds + 1)) if x]
    # the speed processes spread over the sweep, so that their spread holds what drifts over
    # its length as a rerun's does: the first before everything, the last after everything,
    # the others between the memory runs and the rest (README: Numbers that hold)
    speed += [[]] * (2 - len(speed))  # none or one: nothing runs after the rest
    items: list[SweepItem] = [*speed[0], *measure, *(i for x in speed[1:-1] for i in x), *rest,
                              *speed[-1]]
    if any(i.phase in ("measure", "speed") for i in items):
        # a plain Keras step timed at the start and the end: speed across machines, and drift
        items = ([SweepItem("calibration:start", "calibrate", Job.calibration("start", timeout=600))]
                 + items
                 + [SweepItem("calibration:end", "calibrate", Job.calibration("end", timeout=600))])
    names = [i.id for i in items]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise BenchError(f"profile {profile.name}: configurations with the same name: "
                         f"{', '.join(duplicates)}")
    return items
