"""The house's plan, checked from the source: three floors, imports that run one way, no
circle, small modules, and a reason beside every import made inside a function."""
from __future__ import annotations

import collections

from tests.import_graph import Edge, cycles, edges, modules

#: floors, lowest first; a module is on the floor of the longest prefix that names it
FLOORS = {
    # 0 foundation (no TensorFlow): the vocabulary both layers speak
    "bench.errors": 0, "bench.process": 0, "bench.plugins": 0, "bench.config": 0,
    "bench.data": 0, "bench.results": 0, "bench.judge": 0, "bench.execute": 0,
    "models.configs": 0, "models.specs": 0, "models.registry": 0, "bench": 0,
    # 1 training layer (TensorFlow and Keras at module top)
    "bench.engine": 1, "models": 1,
    # 2 control (no TensorFlow): sweeps, reports, the regression check, the command line, the API
    "bench.sweep": 2, "bench.report": 2, "bench.catalogue": 2, "bench.commands": 2, "bench.cli": 2,
    "bench.__main__": 2, "bench.api": 2, "bench.testing": 2,
}
ENTRY = "bench.engine.entry"  # the one door from control into the training layer
FRAMEWORKS = ("tensorflow", "keras", "tf_keras")
#: the foundation modules that may import a framework, inside a function, with the reason there
FRAMEWORK_DOORS = {"bench.process", "bench.data.user"}
MAX_LINES = 400

EDGES = edges()
MODULES = modules()


def floor(module: str) -> int | None:
    parts = module.split(".")
    for cut in range(len(parts), 0, -1):
        if ".".join(parts[:cut]) in FLOORS:
            return FLOORS[".".join(parts[:cut])]
    return None


def project(e: Edge) -> bool:
    return e.target.split(".")[0] in ("bench", "models")


def test_every_module_has_a_floor():
    assert [m for m in MODULES if floor(m) is None] == []


def test_no_import_circle():
    graph = collections.defaultdict(set)
    for e in EDGES:
        if project(e) and e.target != e.source:
            graph[e.source].add(e.target)
    assert cycles(graph) == []


def test_imports_run_down_the_floors_and_control_enters_training_by_one_door():
    wrong = []
    for e in filter(project, EDGES):
        src, dst = floor(e.source), floor(e.target)
        if src == 2 and dst == 1:
            if e.target != ENTRY or e.top or not e.commented:
                wrong.append(f"{e.source}:{e.line} -> {e.target} (control enters training "
                             f"only through {ENTRY}, inside a function, with the reason)")
        elif dst > src:
            wrong.append(f"{e.source}:{e.line} -> {e.target} (floor {src} -> {dst})")
    assert wrong == []


def test_no_framework_outside_the_training_layer():
    wrong = [f"{e.source}:{e.line} -> {e.target}" for e in EDGES
             if e.target.split(".")[0] in FRAMEWORKS and floor(e.source) != 1
             and not (e.source in FRAMEWORK_DOORS and not e.top and e.commented)]
    assert wrong == []


def test_function_level_imports_say_why():
    bare = [f"{e.source}:{e.line} -> {e.target}" for e in EDGES if not e.top and not e.commented]
    assert bare == []


def test_no_module_over_400_lines():
    assert [m for m, path in MODULES.items()
            if len(path.read_text().splitlines()) > MAX_LINES] == []
