"""Machine identity: which hardware and software produced a record (asv's `machine.json` is the
model), and whether two records may be compared as "the same machine".

Two different cores here both call themselves "AMD EPYC (2 cores)": an AVX2-only one and an
AVX-512 one (CPU family 26) on which TensorFlow runs 3-4 times faster, and whose speed ratios
and even allocator peaks differ from the other's. A model name and a core count are therefore
no identity. An identity holds what TensorFlow's speed and memory depend on:

- the CPU: vendor, model name, family / model / stepping, and the instruction-set features
  that oneDNN and Eigen dispatch on (AVX2, the AVX-512 variants, AMX);
- cores (usable by this process) and hardware threads;
- the GPUs TensorFlow sees;
- TensorFlow's and Keras' versions and the oneDNN settings;
- TensorFlow's CPU allocator.

A record made before identities existed has none: its identity is *unknown*, and an unknown
identity is never the same machine as anything (`differences` says so). This module imports
neither TensorFlow nor Keras: the sweep's controller records and compares identities too.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import re
from functools import lru_cache
from importlib import metadata
from typing import Any, Mapping

#: The instruction-set features TensorFlow's CPU kernels dispatch on (oneDNN's ISA levels,
#: Eigen's packet math), in /proc/cpuinfo's spelling.
ISA_FEATURES = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx_vnni", "avx512f", "avx512dq",
                "avx512cd", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16",
                "avx512_fp16", "avx512ifma", "avx512vbmi", "amx_tile", "amx_bf16", "amx_int8")

#: oneDNN's and TensorFlow's environment switches that change which kernels run.
ONEDNN_SETTINGS = ("TF_ENABLE_ONEDNN_OPTS", "ONEDNN_MAX_CPU_ISA", "ONEDNN_DEFAULT_FPMATH_MODE",
                   "TF_ONEDNN_USE_SYSTEM_ALLOCATOR")

UNKNOWN = "unknown identity (recorded before machine identities: no CPU family or instruction set)"


def parse_cpuinfo(text: str) -> dict[str, str]:
    """The first processor's fields of a /proc/cpuinfo text."""
    fields: dict[str, str] = {}
    for line in text.strip().split("\n\n", 1)[0].splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip(), " ".join(value.split()))
    return fields


@lru_cache(maxsize=1)
def _cpuinfo() -> dict[str, str]:
    """This machine's /proc/cpuinfo (empty off Linux)."""
    try:
        return parse_cpuinfo(open("/proc/cpuinfo", encoding="utf-8", errors="replace").read())
    except OSError:
        return {}


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo; the platform's processor string elsewhere)."""
    return _cpuinfo().get("model name") or platform.processor() or platform.machine() or "unknown CPU"


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _int(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None


def cpu_identity(info: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Vendor, model name, family / model / stepping and the ISA features present (of this
    machine, or of `info`, a parsed /proc/cpuinfo)."""
    info = _cpuinfo() if info is None else info
    flags = set((info.get("flags") or "").split())
    siblings, cores = _int(info.get("siblings")), _int(info.get("cpu cores"))
    return {"vendor": info.get("vendor_id") or platform.machine(),
            "model_name": info.get("model name") or cpu_model(),
            "family": _int(info.get("cpu family")), "model": _int(info.get("model")),
            "stepping": _int(info.get("stepping")),
            "isa": [f for f in ISA_FEATURES if f in flags],
            "threads_per_core": (siblings // cores) if siblings and cores else None}


def _version(package: str) -> str | None:
    for name in (package, f"{package}-cpu"):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def machine_identity(allocator: str, gpus: list[str] | None = None,
                     cpuinfo: Mapping[str, str] | None = None) -> dict[str, Any]:
    """This process's identity, with the allocator it runs TensorFlow with and the GPUs
    TensorFlow sees (both known only where TensorFlow is configured). `id` digests the rest."""
    identity = {
        "cpu": cpu_identity(cpuinfo), "cores": usable_cpus(), "threads": os.cpu_count(),
        "gpus": list(gpus or []),
        "software": {"tensorflow": _version("tensorflow"), "keras": _version("keras"),
                     "onednn": {k: os.environ.get(k, "default") for k in ONEDNN_SETTINGS}},
        "allocator": allocator}
    return {**identity, "id": _digest(identity)}


def _digest(identity: Mapping[str, Any]) -> str:
    fields = {k: v for k, v in identity.items() if k not in ("id", "label")}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:10]


def isa_level(identity: Mapping[str, Any] | None) -> str:
    """The highest vector ISA: amx, avx512, avx2, avx or sse ('?' when unknown)."""
    if not identity:
        return "?"
    isa = set(identity["cpu"]["isa"])
    return next((name for name, flag in (("amx", "amx_tile"), ("avx512", "avx512f"),
                                         ("avx2", "avx2"), ("avx", "avx")) if flag in isa), "sse")


def label(identity: Mapping[str, Any] | None, legacy_device: str | None = None) -> str:
    """One line for people: 'AMD EPYC (family 25 model 17, AVX-512: bf16 vnni), 2 cores'."""
    if not identity:
        return f"{legacy_device or 'unknown machine'} [identity unknown]"
    cpu = identity["cpu"]
    extras = [f.replace("avx512_", "").replace("avx512", "") for f in cpu["isa"]
              if f in ("avx512_bf16", "avx512_vnni", "avx512_fp16", "amx_tile")]
    isa = {"amx": "AMX", "avx512": "AVX-512", "avx2": "AVX2", "avx": "AVX"}.get(
        isa_level(identity), "SSE")
    gpus = f", {identity['gpus'][0]} x{len(identity['gpus'])}" if identity.get("gpus") else ""
    return (f"{cpu['model_name']} (family {cpu['family']} model {cpu['model']}, {isa}"
            f"{': ' + ' '.join(extras) if extras else ''}), {identity['cores']} cores{gpus}")


def slug(identity: Mapping[str, Any] | None) -> str:
    """A file name for a per-identity baseline: 'amd-epyc-f25m17-avx512-2c-1a2b3c4d5e'."""
    if not identity:
        return "unknown-identity"
    cpu = identity["cpu"]
    name = re.sub(r"[^a-z0-9]+", "-", cpu["model_name"].lower()).strip("-")[:32]
    return (f"{name}-f{cpu['family']}m{cpu['model']}-{isa_level(identity)}-"
            f"{identity['cores']}c-{identity['id']}")


def of_environment(environment: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The identity a record's environment carries; None for records made before identities."""
    identity = (environment or {}).get("machine")
    return identity if isinstance(identity, dict) and "cpu" in identity else None


def differences(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> list[str]:
    """What tells two identities apart, in words; [] only for two known, equal identities."""
    if not a or not b:
        return [UNKNOWN]
    out = []
    ca, cb = a["cpu"], b["cpu"]
    for key, what in (("vendor", "CPU vendor"), ("model_name", "CPU model"),
                      ("family", "CPU family"), ("model", "CPU model number"),
                      ("stepping", "stepping")):
        if ca.get(key) != cb.get(key):
            out.append(f"{what} {ca.get(key)} vs {cb.get(key)}")
    if ca["isa"] != cb["isa"]:
        only_a = sorted(set(ca["isa"]) - set(cb["isa"]))
        only_b = sorted(set(cb["isa"]) - set(ca["isa"]))
        out.append("instruction set" + (f" +{' +'.join(only_a)}" if only_a else "")
                   + (f" vs +{' +'.join(only_b)}" if only_b else ""))
    for key, what in (("cores", "cores"), ("threads", "hardware threads"), ("gpus", "GPUs"),
                      ("allocator", "allocator")):
        if a.get(key) != b.get(key):
            out.append(f"{what} {a.get(key)} vs {b.get(key)}")
    sa, sb = a["software"], b["software"]
    for key in ("tensorflow", "keras"):
        if sa.get(key) != sb.get(key):
            out.append(f"{key} {sa.get(key)} vs {sb.get(key)}")
    if sa.get("onednn") != sb.get("onednn"):
        out.append(f"oneDNN settings {sa.get('onednn')} vs {sb.get('onednn')}")
    if not out and a.get("id") != b.get("id"):
        out.append(f"identity {a.get('id')} vs {b.get('id')}")
    return out


def visible_gpus() -> list[str]:
    """The GPUs a sweep may give its configurations, without starting TensorFlow (the sweep's
    own process must not initialise CUDA): $CUDA_VISIBLE_DEVICES if set, else NVML's count."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [d.strip() for d in listed.split(",") if d.strip() and d.strip() != "-1"]
    try:
        # optional: nvidia-ml-py is only of use where an NVIDIA driver is
        import pynvml

        pynvml.nvmlInit()
        try:
            return [str(i) for i in range(pynvml.nvmlDeviceGetCount())]
        finally:
            pynvml.nvmlShutdown()
    except Exception:  # no driver, no library: no GPU
        return []
