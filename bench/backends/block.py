"""TensorFlow kept out of a lane process, so that what the lane measures needs JAX or PyTorch
alone (as on a machine where TensorFlow is not installed).

The import is refused by the loader, not hidden from finders: libraries that only ask whether
TensorFlow exists (`importlib.util.find_spec`, as PyTorch's dynamo does) get an answer, and
Keras, which checks `"tensorflow" in sys.modules` before touching it, finds it absent.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys

BLOCKED = ("tensorflow", "tf_keras")


class _Refused(importlib.abc.Loader):
    def create_module(self, spec):
        raise ImportError(f"{spec.name} is blocked in the backend lane: the lane runs on "
                          f"JAX or PyTorch alone")

    def exec_module(self, module) -> None:  # never reached: create_module refuses
        raise ImportError(module.__name__)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            return importlib.machinery.ModuleSpec(name, _Refused())
        return None


def block_tensorflow() -> None:
    """Refuse every later import of TensorFlow and tf_keras in this process."""
    loaded = [m for m in BLOCKED if sys.modules.get(m) is not None]
    if loaded:
        raise RuntimeError(f"{', '.join(loaded)} already imported: block before importing Keras")
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


def tensorflow_loaded() -> bool:
    return any(sys.modules.get(m) is not None for m in BLOCKED)
