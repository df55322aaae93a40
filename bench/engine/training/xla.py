"""What a user does with a model that XLA cannot compile whole: keep the layers it cannot
compile (augmentation, string lookups) outside the compiled step.

Keras marks such layers `supports_jit = False` (RandomZoom -> ImageProjectiveTransformV3 has no
XLA CPU kernel; StringLookup's hash table has none anywhere) and `fit` then quietly compiles
nothing. Where those layers sit in front of every trainable layer, as a preprocessing stage
does, the model splits into a preprocessing model, run uncompiled on each window, and a step
model that XLA compiles; both share the original layers and weights, so the trained function is
the model's own. Where one sits behind a trainable layer, nothing is split and the reason is
returned for the record.
"""
from __future__ import annotations

from dataclasses import dataclass

import keras


@dataclass(frozen=True)
class XlaSplit:
    step_model: keras.Model                 # what the compiled step calls
    preprocess: keras.Model | None = None   # run outside the compiled step (None: nothing)
    outside: tuple[str, ...] = ()           # names of the layers moved outside
    blockers: tuple[str, ...] = ()          # class names of the layers XLA cannot compile
    unsupported: str | None = None          # why XLA cannot compile this model's step


def blocking_layers(op) -> list[str]:
    """Class names of the (sub)layers Keras marks as not XLA-compilable (an op such as
    `ops.expand_dims` in a functional graph is not a layer and never blocks)."""
    if not isinstance(op, keras.layers.Layer):
        return []
    return sorted({type(x).__name__ for x in op._flatten_layers() if not x.supports_jit})


def split_for_xla(model: keras.Model) -> XlaSplit:
    """The model as XLA can train it: whole, split in front of the step, or not at all."""
    if not blocking_layers(model):
        return XlaSplit(model)
    names = ", ".join(blocking_layers(model))
    if not isinstance(model, keras.Model) or not hasattr(model, "_nodes_by_depth"):
        return XlaSplit(model, unsupported=f"XLA not supported by this model: {names} "
                        "(a subclassed model cannot be split)")
    nodes = [n for depth in sorted(model._nodes_by_depth, reverse=True)
             for n in model._nodes_by_depth[depth]]  # inputs first
    front: set[int] = set()  # nodes that blockers need: the blockers and everything before them
    for node in reversed(nodes):
        if id(node) in front or (not node.is_input and blocking_layers(node.operation)):
            front.add(id(node))
            front.update(id(p) for p in _ancestors(node))
    trained = [n.operation.name for n in nodes
               if id(n) in front and not n.is_input
               and getattr(n.operation, "trainable_weights", None)]
    if trained:
        return XlaSplit(model, unsupported=f"XLA not supported by this model: {names} "
                        f"(behind trainable layers: {', '.join(trained)})")
    frontier: list = []  # tensors that cross from the front (or the inputs) into the step
    for node in nodes:
        if id(node) in front or node.is_input:
            continue
        for t in node.input_tensors:
            producer = t._keras_history.operation._inbound_nodes[t._keras_history.node_index]
            if (id(producer) in front or producer.is_input) and all(t is not f for f in frontier):
                frontier.append(t)
    outside = tuple(n.operation.name for n in nodes if id(n) in front and not n.is_input)
    crossing = frontier[0] if len(frontier) == 1 else frontier  # one tensor stays one tensor
    return XlaSplit(step_model=keras.Model(crossing, model._outputs_struct,
                                           name=f"{model.name}_step"),
                    preprocess=keras.Model(model._inputs_struct, crossing,
                                           name=f"{model.name}_preprocess"),
                    outside=outside, blockers=tuple(blocking_layers(model)))


def _ancestors(node) -> list:
    out, todo = [], list(node.parent_nodes)
    while todo:
        n = todo.pop()
        out.append(n)
        todo.extend(n.parent_nodes)
    return out
