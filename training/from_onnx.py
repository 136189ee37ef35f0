"""The refiner's PyTorch model rebuilt from an exported ONNX file alone (no training outputs).

What torch.onnx (opset 17, TorchScript exporter) keeps of ``WholeSequence(GCNRefiner)``, read off
the shipped file: every parameter and BatchNorm statistic as an initializer named after the
state_dict with the wrapper's ``refiner.`` prefix. BatchNorm is not folded (an Add sits between
each convolution and its norm), so the learned state comes back exactly. The ``gather`` buffer,
equal in every layer, is stored once and aliased to the other layers by Identity nodes;
``num_batches_tracked`` is dropped (eval mode never reads it).

Hyper-parameters come from the file: channels and depth from the tensor shapes, the dilations,
window and joint order from the metadata (checked against each other and the graph's inputs).
Buffers that ``models.py`` derives from the skeleton (``gather``, ``root_mask``) are not loaded
but compared, so a change to the model code that the file does not match stops with the
tensor's name.
"""

import re

import onnx
import torch
from onnx import numpy_helper

from blendmimic3d_addon.core import joints
from blendmimic3d_addon.core.errors import DatasetError

from .models import GCNRefiner

PREFIX = "refiner."
SKELETONS = {
    "blendmimic3d": (joints.PARENTS_BM3D, joints.SYMMETRIC_PAIRS_BM3D),
    "h36m": (joints.PARENTS_H36M, joints.SYMMETRIC_PAIRS_H36M),
}
DERIVED = ("gather", "root_mask")  # buffers models.py computes from the skeleton
UNSAVED = ("num_batches_tracked",)  # state the exporter drops


def onnx_tensors(proto):
    """Initializers by name, plus the names Identity nodes give them (shared buffers)."""
    tensors = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    for node in proto.graph.node:
        if node.op_type == "Identity" and node.input[0] in tensors:
            tensors[node.output[0]] = tensors[node.input[0]]
    return tensors


def hyper_parameters(proto, tensors, path):
    """channels, dilations and joint order of the exported refiner; a DatasetError on any
    conflict."""
    meta = {p.key: p.value for p in proto.metadata_props}
    embedding = tensors.get(PREFIX + "joint_embedding")
    if embedding is None or embedding.ndim != 4:
        raise DatasetError(path, PREFIX + "joint_embedding", "missing: not a GCNRefiner export")
    layers = {m.group(1) for k in tensors if (m := re.match(r"refiner\.layers\.(\d+)\.", k))}
    depth = len(layers)
    if layers != {str(i) for i in range(depth)}:
        raise DatasetError(path, "layers", f"not numbered 0..n-1: {sorted(layers)}")
    try:
        dilations = tuple(int(d) for d in meta["dilations"].split(","))
        window = int(meta["window"])
    except (KeyError, ValueError) as exc:
        raise DatasetError(path, "metadata", f"no readable dilations and window ({exc})") from exc
    if len(dilations) != depth or window != 2 * sum(dilations) + 1:
        raise DatasetError(
            path,
            "window",
            f"metadata window {window}, dilations {dilations} and {depth} layers disagree "
            "(a window is 2 * sum(dilations) + 1 frames, one dilation per layer)",
        )
    names = [i.name for i in proto.graph.input]
    dims = [d.dim_value or d.dim_param for d in proto.graph.input[0].type.tensor_type.shape.dim]
    if names != ["poses", "confidence"] or dims[2:] != [embedding.shape[2], 3]:
        raise DatasetError(path, "inputs", f"{names} {dims}: not (B, T, 17, 3) poses + confidence")
    order = meta.get("joint_order", "")
    if order not in SKELETONS:
        raise DatasetError(path, "joint_order", f"{order!r} is not one of {', '.join(SKELETONS)}")
    return int(embedding.shape[1]), dilations, order


def rebuild(path):
    """``(GCNRefiner in eval mode, metadata)`` with every learned tensor taken from ``path``.

    Raises DatasetError naming the tensor when one is missing, left over, of another shape, or
    (for a derived buffer) of other values than models.py builds.
    """
    proto = onnx.load(str(path))
    tensors = onnx_tensors(proto)
    channels, dilations, order = hyper_parameters(proto, tensors, path)
    parents, symmetric = SKELETONS[order]
    model = GCNRefiner(parents, symmetric, channels=channels, dilations=dilations).eval()
    state = model.state_dict()
    unused = set(tensors) - {PREFIX + k for k in state}
    if unused:
        raise DatasetError(path, ", ".join(sorted(unused)), "not in the GCNRefiner of models.py")
    for key, value in state.items():
        if key.endswith(UNSAVED):
            continue
        name = PREFIX + key
        if name not in tensors:
            raise DatasetError(path, name, "missing: models.py has it, the ONNX file does not")
        stored = torch.from_numpy(tensors[name].copy())
        if stored.shape != value.shape:
            raise DatasetError(
                path, name, f"shape {tuple(stored.shape)}, models.py builds {tuple(value.shape)}"
            )
        if key.endswith(DERIVED):
            if not torch.equal(stored, value):
                worst = float((stored - value).abs().max())
                raise DatasetError(path, name, f"differs from models.py's by up to {worst:g}")
        else:
            state[key] = stored
    model.load_state_dict(state)
    return model, {p.key: p.value for p in proto.metadata_props}
