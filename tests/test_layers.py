"""The house's plan, checked from the source: three floors, imports that run one way, no
circle, small modules, and a reason beside every import made inside a function."""
from __future__ import annotations

import collections

from tests.import_graph import Edge, cycles, edges, modules

#: floors, lowest first; a module is on the floor of the longest prefix that names it. The
#: foundation (no TensorFlow, floors 0-4) has floors of its own: the base; what is stored and
#: loaded (data, records, model specs); the configurations; the judgements over them; the
#: worker client that carries configurations to the training layer.
FLOORS = {
    "bench.errors": 0, "bench.process": 0, "bench.plugins": 0, "bench": 0,
    "bench.host": 0,
    "bench.data": 1, "bench.results": 1, "models.configs": 1, "models.specs": 1,
    "models.registry": 1,
    "bench.config": 2,
    "bench.judge": 3,
    "bench.execute": 4,
    # the training layer (TensorFlow and Keras at module top): TensorFlow's (bench.engine), the
    # backend lane's (bench.backends: JAX, PyTorch, no TensorFlow), and Keras code for every
    # backend that both use (bench.portable)
    "bench.engine": 5, "models": 5, "bench.backends": 5, "bench.portable": 5,
    # control (no TensorFlow): sweeps, reports, the regression check, the command line, the API
    "bench.sweep": 6, "bench.report": 6, "bench.catalogue": 6, "bench.commands": 6,
    "bench.cli": 6, "bench.__main__": 6, "bench.api": 6, "bench.testing": 6,
}
TRAINING, CONTROL = 5, 6
ENTRY = "bench.engine.entry"  # the one door from control into the training layer
FRAMEWORKS = ("tensorflow", "keras", "tf_keras", "jax", "jaxlib", "torch", "optax")
#: what the lane and the code it shares with TensorFlow never import: TensorFlow, and the
#: TensorFlow training layer (whose package imports TensorFlow)
TENSORFLOW = ("tensorflow", "tf_keras", "bench.engine")
TENSORFLOW_FREE = ("bench.backends", "bench.portable", "models")
#: the two that may: grn_vsn's lookup tables (why that model runs on TensorFlow only, the
#: registry's `tensorflow_only`, and the lane refuses it); the Keras 2 lane's switch to tf_keras
TENSORFLOW_DOORS = {"models.lookup", "models.backend"}
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


def upward(edges: list[Edge]) -> list[str]:
    """Imports that run up the floors (control into training only by its one door)."""
    wrong = []
    for e in filter(project, edges):
        src, dst = floor(e.source), floor(e.target)
        if src == CONTROL and dst == TRAINING:
            if e.target != ENTRY or e.top or not e.commented:
                wrong.append(f"{e.source}:{e.line} -> {e.target} (control enters training "
                             f"only through {ENTRY}, inside a function, with the reason)")
        elif dst > src:
            wrong.append(f"{e.source}:{e.line} -> {e.target} (floor {src} -> {dst})")
    return wrong


def test_imports_run_down_the_floors_and_control_enters_training_by_one_door():
    assert upward(EDGES) == []


def test_an_import_from_config_to_judge_runs_up_inside_the_foundation():
    back_up = Edge("bench.config.request", "bench.judge.verdict", 12, True, False)
    down = Edge("bench.judge.verdict", "bench.config.names", 17, True, False)
    assert upward([back_up, down]) == ["bench.config.request:12 -> bench.judge.verdict (floor 2 -> 3)"]


def test_no_framework_outside_the_training_layer():
    wrong = [f"{e.source}:{e.line} -> {e.target}" for e in EDGES
             if e.target.split(".")[0] in FRAMEWORKS and floor(e.source) != TRAINING
             and not (e.source in FRAMEWORK_DOORS and not e.top and e.commented)]
    assert wrong == []


def test_function_level_imports_say_why():
    bare = [f"{e.source}:{e.line} -> {e.target}" for e in EDGES if not e.top and not e.commented]
    assert bare == []


def test_no_module_over_400_lines():
    assert [m for m, path in MODULES.items()
            if len(path.read_text().splitlines()) > MAX_LINES] == []


def test_the_backend_lane_and_what_it_shares_import_no_tensorflow():
    wrong = [f"{e.source}:{e.line} -> {e.target}" for e in EDGES
             if e.source.startswith(TENSORFLOW_FREE) and e.target.startswith(TENSORFLOW)
             and e.source not in TENSORFLOW_DOORS]
    assert wrong == []


def test_tensorflow_layer_imports_no_other_backend():
    wrong = [f"{e.source}:{e.line} -> {e.target}" for e in EDGES
             if e.source.startswith("bench.engine")
             and (e.target.split(".")[0] in ("jax", "jaxlib", "torch", "optax")
                  or e.target.startswith("bench.backends"))]
    assert wrong == []
