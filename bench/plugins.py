"""Plug-ins by import path: a user's model builder, data loader or accumulation code, named as
`package.module:attribute` wherever the harness accepts a name.

Resolving one either returns the callable or raises a BenchError of one line (module not
importable, attribute missing, not callable) — before anything trains. The current directory
is importable, as it is for `python -m`, so a module next to the user's project just works.
"""
from __future__ import annotations

import importlib
import os
import sys
from typing import Any, Callable

from bench.errors import BenchError, one_line
from bench.process import import_tensorflow_quietly


def is_import_path(name: str | None) -> bool:
    return bool(name) and ":" in name and not name.endswith(".npz")


#: path -> (the module it was found in, the callable): a configuration's plug-ins are resolved
#: once per process, where the configuration is validated, and every layer below reuses that
_RESOLVED: dict[str, tuple[Any, Callable[..., Any]]] = {}


def resolve(path: str, what: str) -> Callable[..., Any]:
    """The callable at `package.module:attribute` (`what` names it in error messages); the same
    object for every later call while its module stays imported (a module removed from
    `sys.modules` and imported again is resolved again)."""
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise BenchError(f"{what} {path!r} is not an import path (expected package.module:name)")
    known = _RESOLVED.get(path)
    if known is not None and sys.modules.get(module_name) is known[0]:
        return known[1]
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())

    import_tensorflow_quietly()  # before the user's module imports it, noisily
    try:
        module = importlib.import_module(module_name)
    except Exception as e:  # ImportError, or the module failing while it imports
        raise BenchError(f"{what} {path!r}: cannot import {module_name!r} ({one_line(e, 200)})") from None
    target = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise BenchError(f"{what} {path!r}: module {module_name!r} has no attribute {attribute!r}")
        target = getattr(target, part)
    if not callable(target):
        raise BenchError(f"{what} {path!r}: {attribute!r} is a {type(target).__name__}, not callable")
    _RESOLVED[path] = (module, target)
    return target


def call(fn: Callable[..., Any], path: str, what: str, **kwargs: Any) -> Any:
    """Call a user's function; its own exception becomes one line naming it."""
    try:
        return fn(**kwargs)
    except BenchError:
        raise
    except Exception as e:
        raise BenchError(f"{what} {path!r} raised {one_line(e, 300)}") from None
