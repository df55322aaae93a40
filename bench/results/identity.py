"""One identity per configuration, used by the store, the sweep, the report, the check and the
outcome grouping (asv's `results.py` is the model).

An identity has a readable *name* (unique within a profile; what tables, the check and pytest
ids show) and a *key* (a hash of every field that defines the configuration). The same name
with another key is the same configuration with changed settings: "not comparable", never
silently mixed. The *group* is the name without the seed: the rows that level 3 pairs.
A speed configuration measured in several processes (rounds) has one identity per round; the
first round keeps the plain name (and the key it had before rounds existed), later ones end in
`:round2`, `:round3`; `configuration_name` strips that (what the check and the report group by).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Mapping

#: Version of the record layout; records and baselines carry it.
SCHEMA = 2

#: Fields shown in a name only when they differ from these values.
NAME_DEFAULTS: dict[str, Any] = {"precision": "float32", "dtype": "float32", "jit": False,
                                 "replicas": 1, "workers": 1, "lr_schedule": "constant"}


def arrays_digest(arrays) -> str:
    """A short hash of NumPy arrays' bytes: what level 3 pairs seeds by (the same initial
    weights, the same data order), on every framework."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(memoryview(a).cast("B") if a.flags.c_contiguous else a.tobytes())
    return h.hexdigest()[:16]


def _digest(kind: str, fields: Mapping[str, Any]) -> str:
    blob = json.dumps([kind, dict(sorted(fields.items()))], sort_keys=True, default=list)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Identity:
    """Who a record is: `name` for people, `key` for machines, `group` for pairing seeds."""

    kind: str
    name: str
    key: str
    group: str
    group_key: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "key": self.key, "group": self.group,
                "group_key": self.group_key}


def make_identity(kind: str, fields: Mapping[str, Any], label: list[str]) -> Identity:
    """`fields` are every defining field (the key hashes them all); `label` lists, in order,
    the fields that make up the name (defaults in NAME_DEFAULTS are left out; `seed` last)."""
    parts = []
    for name in label:
        value = fields.get(name)
        if name in ("seed", "round"):
            continue
        if name in NAME_DEFAULTS and value == NAME_DEFAULTS[name]:
            continue
        if value is None or value is False:
            continue
        parts.append(name if value is True else
                     f"lr-{value}" if name == "lr_schedule" else
                     f"{value}rep" if name == "replicas" else
                     f"{value}workers" if name == "workers" else
                     f"ema-{value}" if name == "ema" else str(value))
    group_name = ":".join(parts)
    without_seed = {k: v for k, v in fields.items() if k not in ("seed", "round")}
    seed, repeat = fields.get("seed"), fields.get("round") or 1
    name = group_name if seed is None else f"{group_name}:seed{seed}"
    name += f"{ROUND_MARK}{repeat}" if repeat > 1 else ""
    return Identity(kind, name, _digest(kind, fields), group_name, _digest(kind, without_seed))


ROUND_MARK = ":round"


def configuration_name(name: str) -> str:
    """The configuration a round belongs to: `cnn:accumulate:16x8:seed0:round2` ->
    `cnn:accumulate:16x8:seed0` (a name without a round is returned as it is)."""
    head, mark, tail = name.rpartition(ROUND_MARK)
    return head if mark and tail.isdigit() else name
