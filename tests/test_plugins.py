"""A plug-in is resolved once per process: every layer that asks again gets the same object,
until its module is imported anew."""
from __future__ import annotations

import sys

from bench.plugins import resolve


def test_a_plugin_is_resolved_once_and_again_after_its_module_is_reimported(tmp_path, monkeypatch):
    (tmp_path / "once_plugin.py").write_text("def build():\n    return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    first = resolve("once_plugin:build", "model builder")
    (tmp_path / "once_plugin.py").write_text("def build():\n    return 22\n")  # another size: no stale .pyc
    assert resolve("once_plugin:build", "model builder") is first  # not imported or looked up again
    sys.modules.pop("once_plugin")
    again = resolve("once_plugin:build", "model builder")
    assert again is not first and again() == 22
    sys.modules.pop("once_plugin")
