"""ONNX export of the refiner and the predictions cache that ``benchmarks/`` reads."""

import os
import tempfile

import numpy as np
import onnx
import torch

from .models import WholeSequence

OPSET = 17


def to_onnx(model, path, metadata):
    """Export the whole-sequence graph, (B, T, 17, 3) poses and (B, T, 17) confidence ->
    (B, T, 17, 3), with dynamic batch and length; written aside, then renamed."""
    wrapped = WholeSequence(model.eval()).eval()
    dummy = (torch.zeros(1, 40, 17, 3), torch.zeros(1, 40, 17))
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(suffix=".onnx.part", dir=directory)
    os.close(fd)
    try:
        torch.onnx.export(
            wrapped,
            dummy,
            tmp,
            input_names=["poses", "confidence"],
            output_names=["refined"],
            dynamic_axes={
                "poses": {0: "batch", 1: "frames"},
                "confidence": {0: "batch", 1: "frames"},
                "refined": {0: "batch", 1: "frames"},
            },
            opset_version=OPSET,
            dynamo=False,
        )
        proto = onnx.load(tmp)
        for key, value in metadata.items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, str(value)
        onnx.checker.check_model(proto)
        onnx.save(proto, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _pack(sequences, predictions, draw):
    pred = [predictions[s.name][draw] for s in sequences]
    return {
        "pred": np.concatenate(pred).astype(np.float32),
        "gt": np.concatenate([s.pose3d for s in sequences]).astype(np.float32),
        "visible": np.concatenate([s.visible for s in sequences]),
        "lengths": np.array([len(p) for p in pred]),
        "names": np.array([s.name for s in sequences]),
    }


def save_cache(folder, splits, predictions):
    """Lifter predictions (first draw) with ground truth and visibility, for each named split
    ({"train": [Sequence], ...}; an empty split is left out)."""
    os.makedirs(folder, exist_ok=True)
    arrays = {}
    for split, seqs in splits.items():
        if seqs:
            arrays.update({f"{split}_{k}": v for k, v in _pack(seqs, predictions, 0).items()})
    path = os.path.join(folder, "predictions.npz")
    tmp = path + ".part.npz"
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)
