"""3D pose predictions as lifting tools write them, read as (T,17,3) and written back alike.

Accepted: ``.npy`` or ``.npz`` holding (T,17,3) or (T,1,17,3) arrays (VideoPose3D's exports are
(T,1,17,3) float32), and VideoPose3D's dict layout ({subject: {action: array or [array per
camera]}}, pickled; read through the safe unpickler). ``save_predictions_like`` writes refined
poses in the layout, shape and dtype the input had, so a pipeline can swap the file in place.
"""

import copy
import dataclasses
import os

import numpy as np
from numpy.lib import format as npy_format

from ..errors import DatasetError
from .atomic import atomic_file
from .paths import StrPath
from .safe_npz import object_scalar, read_npy, read_npz, write_npz


@dataclasses.dataclass
class PredictionLayout:
    container: str  # "npy" or "npz"
    form: str  # "T,17,3" or "T,1,17,3"
    dtype: np.dtype
    key: str = None  # npz member holding the poses (or the dict)
    entry: tuple = None  # path inside a dict layout, e.g. ("S9", "Walking", 0)
    members: dict = None  # every npz member / the dict, for writing the rest back unchanged


def load_predictions(
    path: StrPath, key: str | None = None, with_layout: bool = False, allow_missing: bool = False
) -> np.ndarray | tuple[np.ndarray, dict]:
    """(T,17,3) float poses from ``path``; ``key`` picks an npz member or a dict entry
    (``"S9/Walking"`` or ``"S9/Walking/0"``) when the file holds several. ``allow_missing``
    lets NaN through (frames an estimator could not fill); infinities are always refused."""
    path = os.fspath(path)
    if path.endswith(".npz"):
        members = read_npz(path, pickled=True)  # any member may hold VideoPose3D's dict
        layout, value = _from_npz(path, members, key)
    elif path.endswith(".npy"):
        value = read_npy(path, allow_objects=True)
        layout = PredictionLayout("npy", "", None)
        if value.dtype.hasobject:
            layout.members = value[()] if value.shape == () else None
            layout.entry, value = _pick_entry(path, None, layout.members, key)
    else:
        raise DatasetError(path, None, "predictions must be a .npy or .npz file")
    poses, layout.form = _as_poses(path, layout.key, value, allow_missing)
    layout.dtype = np.asarray(value).dtype
    return (poses, layout) if with_layout else poses


def save_predictions_like(original_layout: dict, poses: np.ndarray, path: StrPath) -> None:
    """Write (T,17,3) ``poses`` in ``original_layout`` (from ``load_predictions``) at ``path``."""
    layout = original_layout
    poses = np.asarray(poses)
    if poses.ndim != 3 or poses.shape[1:] != (17, 3):
        raise ValueError(f"expected (T,17,3) poses, got {poses.shape}")
    if not lossless_as(poses, layout.dtype):
        name = np.dtype(layout.dtype).name
        reason = (
            f"the input holds {name} poses; the refined values are not whole numbers and "
            f"writing them as {name} would truncate them: convert the input to float"
        )
        raise DatasetError(path, None, reason)
    value = poses.astype(layout.dtype)
    if layout.form == "T,1,17,3":
        value = value[:, None]
    if layout.entry is not None:
        tree = copy.deepcopy(layout.members if layout.key is None else layout.members[layout.key])
        tree = tree[()] if isinstance(tree, np.ndarray) else tree
        _set_entry(tree, layout.entry, value)
        value = object_scalar(tree)
    if layout.container == "npy":
        with atomic_file(path) as handle:
            npy_format.write_array(handle, value, allow_pickle=value.dtype.hasobject)
    else:
        members = dict(layout.members)
        members[layout.key] = value
        write_npz(path, members, compressed=True)


def lossless_as(poses: np.ndarray, dtype: np.dtype) -> bool:
    """True when (float) ``poses`` keep their values written as ``dtype`` (NaN stays NaN only
    in a float dtype; an integer dtype keeps only whole numbers within its range)."""
    poses = np.asarray(poses, dtype=np.float64)
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return True  # the input's own precision: rounding to it is what the user asked for
    if not np.isfinite(poses).all():
        return False
    info = np.iinfo(dtype)
    inside = (poses >= info.min).all() and (poses <= info.max).all()
    return bool(inside and np.array_equal(np.round(poses), poses))


def _from_npz(path, members, key):
    numeric = [k for k, v in members.items() if not v.dtype.hasobject]
    dicts = [k for k, v in members.items() if v.dtype.hasobject]
    layout = PredictionLayout("npz", "", None, members=members)
    if key in members:
        layout.key = key
    elif len(numeric) == 1 and not dicts:
        layout.key = numeric[0]
    elif len(dicts) >= 1 and not numeric:
        layout.key = "positions_3d" if "positions_3d" in dicts else dicts[0]
    else:
        names = ", ".join(members)
        raise DatasetError(path, None, f"holds several arrays ({names}); choose one as the key")
    value = members[layout.key]
    if value.dtype.hasobject:
        tree = value[()] if value.shape == () else None
        entry_key = None if key == layout.key else key
        layout.entry, value = _pick_entry(path, layout.key, tree, entry_key)
    return layout, value


def _pick_entry(path, field, tree, key):
    if not isinstance(tree, dict):
        raise DatasetError(path, field, "holds an object that is not a dict of poses")
    entries = dict(_flatten(tree, ()))
    if key is not None:
        wanted = tuple(int(p) if p.isdigit() else p for p in key.split("/"))
        if wanted not in entries:
            raise DatasetError(path, field, f"no entry {key!r}; entries: {_names(entries)}")
        return wanted, entries[wanted]
    if len(entries) != 1:
        raise DatasetError(
            path, field, f"holds {len(entries)} sequences; choose one: {_names(entries)}"
        )
    return next(iter(entries.items()))


def _flatten(tree, prefix):
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from _flatten(v, (*prefix, k))
    elif isinstance(tree, (list, tuple)):
        for i, v in enumerate(tree):
            yield from _flatten(v, (*prefix, i))
    else:
        yield prefix, tree


def _set_entry(tree, entry, value):
    for part in entry[:-1]:
        tree = tree[part]
    tree[entry[-1]] = value


def _names(entries):
    names = ["/".join(str(p) for p in e) for e in entries]
    return ", ".join(names[:8]) + (" ..." if len(names) > 8 else "")


def _as_poses(path, field, value, allow_missing=False):
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "fiu":
        raise DatasetError(path, field, "poses must be a numeric array")
    form = {(3, (17, 3)): "T,17,3", (4, (1, 17, 3)): "T,1,17,3"}.get((value.ndim, value.shape[1:]))
    if form is None:
        raise DatasetError(path, field, f"shape {value.shape} where (T,17,3) or (T,1,17,3) belongs")
    if np.isinf(value).any():
        raise DatasetError(path, field, "infinite value")
    if not allow_missing and np.isnan(value).any():
        raise DatasetError(path, field, "NaN value (a missing joint or frame)")
    return value.reshape(len(value), 17, 3).astype(np.float64), form
