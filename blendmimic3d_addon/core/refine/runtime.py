"""Runtime of the bundled GCN pose refiner: onnxruntime and numpy only (no torch).

The model refines root-relative camera-frame poses in metres, BlendMimic3D joint order, a whole
sequence in one pass (dynamic length; the graph edge-pads the ends itself), with an optional
per-joint confidence (1 visible, 0 occluded). Long takes run in chunks that overlap by the
receptive field, so the result is the one-pass result in bounded memory. The caller's joint order
is converted in and out, the caller's root trajectory is kept, and by default each bone keeps the
input's own median length (a small move, vectorised over bones and frames), so a Human3.6M
skeleton is not pulled toward Mixamo proportions.
"""

import os
from collections.abc import Callable, Generator, Sequence

import numpy as np
from numpy.typing import ArrayLike

from ..errors import DatasetError
from ..format.safe_open import open_regular
from ..joints import JOINT_SETS, PARENTS_BM3D, convert_joint_order

MODEL_NAME = "refiner_gcn.onnx"
MODEL_JOINT_ORDER = "blendmimic3d"
# Largest coordinate accepted (metres or millimetres): beyond it a value is corrupt, and past
# float32's 3.4e38 it would turn whole windows of output into NaN.
MAX_COORDINATE = 1e6
MIN_FRAMES = 9  # fewer complete frames than this give the model too little to go on
CHUNK_FRAMES = 4096  # frames refined per model call: bounds memory on long takes
# Human3.6M's spine, thorax, neck/nose and head are not Mixamo's Spine1, Neck, Head and
# HeadTop_End: in that order those joints start from the input, not from the model's output.
OWN_SEMANTICS_H36M = (7, 8, 9, 10)


def model_candidates() -> list[str]:
    """Where the shipped model may lie: ``assets/`` inside the installed extension, or beside
    the package in a checkout (also when the package is reached through symbolic links)."""
    found = []
    for here in (os.path.abspath(__file__), os.path.realpath(__file__)):
        # core/refine/runtime.py -> the package folder
        package = os.path.dirname(os.path.dirname(os.path.dirname(here)))
        for folder in (package, os.path.dirname(package)):
            path = os.path.join(folder, "assets", MODEL_NAME)
            if path not in found:
                found.append(path)
    return found


def default_model_path() -> str:
    for path in model_candidates():
        if os.path.isfile(path):
            return path
    raise DatasetError(model_candidates()[0], None, "the bundled refiner model is missing")


def sliding_windows(n_frames: int, window: int) -> np.ndarray:
    """(n_frames, window) frame indices centred on each frame, clamped at the ends."""
    half = window // 2
    return np.clip(np.arange(n_frames)[:, None] + np.arange(-half, half + 1), 0, n_frames - 1)


def chunk_bounds(n_frames: int, chunk: int, pad: int) -> list[tuple[int, int, int, int]]:
    """[(lo, start, stop, hi)]: frames start..stop are refined from frames lo..hi, which hold
    ``pad`` frames of context each side (fewer only at the sequence's own ends, where the model
    edge-pads exactly as in one pass)."""
    bounds = []
    for start in range(0, n_frames, chunk):
        stop = min(start + chunk, n_frames)
        bounds.append((max(0, start - pad), start, stop, min(n_frames, stop + pad)))
    return bounds


class Refiner:
    """The ONNX model in an onnxruntime session; its receptive field and the confidence value
    that means "unknown" are read off the model's metadata."""

    def __init__(self, model_path=None, threads=0):
        import onnxruntime  # here, so importing this module stays cheap

        if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 0:
            raise DatasetError(None, "threads", f"{threads!r}: give 0 (automatic) or a count")
        self.model_path = model_path or default_model_path()
        open_regular(self.model_path).close()  # a FIFO or device would block onnxruntime
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
        try:
            self.session = onnxruntime.InferenceSession(
                self.model_path, options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # a damaged or foreign file: one line, not a traceback
            raise DatasetError(
                self.model_path, None, f"cannot load the ONNX model ({exc})"
            ) from exc
        names = [i.name for i in self.session.get_inputs()]
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        if names != ["poses", "confidence"] or "window" not in self.metadata:
            raise DatasetError(
                self.model_path,
                None,
                f"not a whole-sequence refiner model (inputs {names}, expected poses and "
                "confidence, with a window in its metadata)",
            )
        self.window = int(self.metadata["window"])
        self.pad = self.window // 2
        self.unknown = float(self.metadata.get("confidence_unknown", -1.0))

    def refine(
        self,
        poses: np.ndarray,
        joint_order: str = "blendmimic3d",
        batch_size: int = CHUNK_FRAMES,
        progress: Callable[[int, int], None] | None = None,
        path: str | None = None,
        confidence: ArrayLike | None = None,
        keep_proportions: bool = True,
    ) -> np.ndarray:
        """Refined copy of (T, 17, 3) poses in ``joint_order``; the root trajectory is kept.

        ``confidence``: optional (T, 17) in [0, 1] in the same joint order (occlusion labels, 1
        visible, or a 2D detector's scores). Frames with NaN are left NaN and bridged from their
        neighbours for the others. ``batch_size`` frames are refined per model call (the result
        does not depend on it); ``progress(done, total)`` is called after each.
        ``keep_proportions``: each bone keeps the input's median length (see
        ``keep_bone_lengths``). ``path`` names the input in errors.
        """
        steps = self.refine_steps(
            poses, joint_order, batch_size, path, confidence, keep_proportions
        )
        while True:
            try:
                done, total = next(steps)
            except StopIteration as stop:
                return stop.value
            if progress is not None:
                progress(done, total)

    def refine_steps(
        self,
        poses: np.ndarray,
        joint_order: str = "blendmimic3d",
        batch_size: int = CHUNK_FRAMES,
        path: str | None = None,
        confidence: ArrayLike | None = None,
        keep_proportions: bool = True,
    ) -> Generator[tuple[int, int], None, np.ndarray]:
        """``refine`` as a generator, for a caller that shows progress and may stop early: the
        inputs are checked now (a DatasetError before any step), then it yields ``(frames done,
        total)`` after each model call and returns the refined poses. Nothing is written
        anywhere, so closing it early leaves nothing behind."""
        poses = check_poses(poses, MIN_FRAMES, path)
        if joint_order not in JOINT_SETS:
            raise DatasetError(path, "joint_order", f"must be one of {', '.join(JOINT_SETS)}")
        if confidence is not None:
            confidence = check_confidence(confidence, len(poses), path)
        return self._steps(
            poses, joint_order, max(1, int(batch_size)), confidence, keep_proportions
        )

    def _steps(self, poses, joint_order, chunk, confidence, keep_proportions):
        bad = missing_frames(poses)
        filled = fill_missing_frames(poses, bad)
        root = filled[:, :1]
        local = convert_joint_order(filled - root, joint_order, MODEL_JOINT_ORDER)
        if confidence is None:
            conf = np.full(local.shape[:2], self.unknown, np.float32)
        else:
            conf = convert_joint_order(confidence[..., None], joint_order, MODEL_JOINT_ORDER)[
                ..., 0
            ]
        local, conf = local.astype(np.float32), conf.astype(np.float32)
        refined = np.empty_like(local)
        for lo, start, stop, hi in chunk_bounds(len(local), chunk, self.pad):
            feed = {"poses": local[None, lo:hi], "confidence": conf[None, lo:hi]}
            refined[start:stop] = self.session.run(None, feed)[0][0, start - lo : stop - lo]
            yield stop, len(local)
        out = convert_joint_order(refined, MODEL_JOINT_ORDER, joint_order).astype(np.float64)
        if keep_proportions:
            own = OWN_SEMANTICS_H36M if joint_order == "h36m" else ()
            out = keep_bone_lengths(out, filled - root, own)
        out = out + root
        out[bad] = np.nan
        return out.astype(poses.dtype)


def keep_bone_lengths(
    refined: ArrayLike,
    source: ArrayLike,
    own_joints: Sequence[int] = (),
    parents: ArrayLike = PARENTS_BM3D,
    iterations: int = 10,
    relax: float = 1.5,
) -> np.ndarray:
    """A copy of ``refined`` root-relative poses in which each bone has the median length of
    that bone in ``source`` over the sequence, reached by a small move: ``iterations`` rounds
    of simultaneous projections onto every bone's length (each joint moves by the mean of its
    bones' corrections, over-relaxed by ``relax``; a bone's error is shared by its two joints,
    all of it to a child of the root, which stays in place), then an exact pass from the root
    outward that sets the small remaining errors along each bone's direction. The joints in
    ``own_joints`` start from ``source``'s positions instead of the model's. Both joint orders
    share one tree. numpy over all bones and frames at once: no loop per bone."""
    refined, source = np.asarray(refined, np.float64), np.asarray(source, np.float64)
    parents = np.asarray(parents)
    n_frames, joints, _ = refined.shape
    parent = parents[1:]  # bone b joins joint b + 1 to its parent
    # (J, 3, T) joint- and coordinate-major: each joint's x, y and z tracks are contiguous rows
    src = source.transpose(1, 2, 0).copy()
    src_bones = src[1:] - src[parent]
    lengths = np.median(np.sqrt(np.einsum("bct,bct->bt", src_bones, src_bones)), axis=1)
    out = refined.transpose(1, 2, 0).copy()
    own = list(own_joints)
    if own:
        out[own] = src[own]
    degree = np.bincount(np.concatenate([np.arange(1, joints), parent]), minlength=joints)
    to_child = (relax * np.where(parent == 0, 1.0, 0.5) / degree[1:])[:, None, None]
    # bones grouped by their rank among siblings: within a group no two share a parent, so one
    # indexed add per group moves the parents without a scatter that would drop repeats
    rank = np.array([np.count_nonzero(parent[:k] == parent[k]) for k in range(len(parent))])
    groups = []
    for r in range(rank.max() + 1):
        bones = np.flatnonzero((rank == r) & (parent != 0))
        if len(bones):
            share = (relax * 0.5 / degree[parent[bones]])[:, None, None]
            groups.append((bones, parent[bones], share))
    target = lengths[:, None]
    bone, scale = np.empty((joints - 1, 3, n_frames)), np.empty((joints - 1, n_frames))
    for _ in range(iterations):  # in place: this loop is most of the step's time
        np.subtract(out[1:], out[parent], out=bone)
        np.einsum("bct,bct->bt", bone, bone, out=scale)
        np.sqrt(scale, out=scale)
        # a bone of no length has no direction to scale (0 * anything): its neighbours decide
        np.maximum(scale, 1e-9, out=scale)
        np.divide(target, scale, out=scale)
        np.subtract(1.0, scale, out=scale)
        bone *= scale[:, None]
        out[1:] -= to_child * bone
        for bones, at, share in groups:
            out[at] += share * bone[bones]
    # exact lengths, root outward: the rounds above left errors of a fraction of a millimetre
    depth = np.zeros(joints, dtype=int)
    for j in range(1, joints):
        depth[j] = depth[parents[j]] + 1
    exact = np.zeros_like(out)
    for level in range(1, depth.max() + 1):
        js = np.flatnonzero(depth == level)
        bone = out[js] - out[parents[js]]
        norm = np.sqrt(np.einsum("bct,bct->bt", bone, bone))[:, None]
        exact[js] = exact[parents[js]] + bone * (
            lengths[js - 1, None, None] / np.maximum(norm, 1e-9)
        )
    return exact.transpose(2, 0, 1)


def check_confidence(confidence: ArrayLike, n_frames: int, path: str | None = None) -> np.ndarray:
    """(T, 17) finite confidence in [0, 1] matching the poses' T, or a DatasetError."""
    confidence = np.asarray(confidence)
    if confidence.shape != (n_frames, 17):
        raise DatasetError(
            path,
            "confidence",
            f"expected (T, 17) per-joint confidence with T = {n_frames} (the poses' frames), "
            f"got shape {confidence.shape}",
        )
    if not (
        np.issubdtype(confidence.dtype, np.floating)
        or confidence.dtype == bool
        or np.issubdtype(confidence.dtype, np.integer)
    ):
        raise DatasetError(path, "confidence", f"expected numbers, got dtype {confidence.dtype}")
    confidence = confidence.astype(np.float32)
    if not np.isfinite(confidence).all():
        raise DatasetError(path, "confidence", "has NaN or infinite values")
    if confidence.min() < 0 or confidence.max() > 1:
        raise DatasetError(
            path,
            "confidence",
            f"values must lie in [0, 1], found {confidence.min():g} to {confidence.max():g}",
        )
    return confidence


def check_poses(
    poses: ArrayLike, min_frames: int = MIN_FRAMES, path: str | None = None
) -> np.ndarray:
    """(T, 17, 3) float poses with enough finite frames, or a DatasetError saying what is wrong."""
    poses = np.asarray(poses)
    if poses.ndim != 3 or poses.shape[1:] != (17, 3):
        raise DatasetError(path, "poses", f"expected (T, 17, 3) 3D poses, got shape {poses.shape}")
    if not np.issubdtype(poses.dtype, np.floating):
        poses = poses.astype(np.float64)  # integer millimetres: float64 keeps every value
    magnitude = np.where(np.isfinite(poses), np.abs(poses), 0)
    if (magnitude > MAX_COORDINATE).any():
        where = tuple(np.argwhere(magnitude > MAX_COORDINATE)[0].tolist())
        raise DatasetError(
            path,
            "poses",
            f"value {poses[where]:.3g} at {where} is beyond {MAX_COORDINATE:g}; the refiner "
            "computes in float32, where it would overflow",
        )
    finite = ~missing_frames(poses)
    if finite.sum() < min_frames:
        raise DatasetError(
            path,
            "poses",
            f"{int(finite.sum())} of {len(poses)} frames are complete (no NaN); the refiner "
            f"needs at least {min_frames}",
        )
    return poses


def missing_frames(poses: np.ndarray) -> np.ndarray:
    """(T,) True where a frame has any non-finite joint: the refiner treats it as missing whole."""
    return ~np.isfinite(np.asarray(poses)).all(axis=(1, 2))


def fill_missing_frames(poses: np.ndarray, bad: np.ndarray) -> np.ndarray:
    """Linear interpolation over frames flagged ``bad`` (held constant beyond the ends)."""
    if not bad.any():
        return poses.astype(np.float64)
    good = np.flatnonzero(~bad)
    t = np.arange(len(poses))
    flat = poses[good].reshape(len(good), -1).astype(np.float64)
    filled = np.stack([np.interp(t, good, flat[:, k]) for k in range(flat.shape[1])], axis=1)
    return filled.reshape(poses.shape)


def smoothness(poses: np.ndarray) -> dict:
    """What can be measured without ground truth: jitter (mean joint acceleration, mm/frame^2)
    and bone-length spread (mean over bones of the std of its length, mm), over complete frames
    (``frames`` of them; jitter where three in a row are). Either joint order: both share one
    tree."""
    from .metrics import bone_lengths

    poses = np.asarray(poses, dtype=np.float64)
    finite = ~missing_frames(poses)
    poses = np.where(finite[:, None, None], poses, np.nan)  # a partial frame is missing whole
    accel = np.linalg.norm(np.diff(poses, n=2, axis=0), axis=-1)
    lengths = bone_lengths(poses[finite])
    return {
        "frames": int(finite.sum()),
        # nan, quietly, where no three complete frames are in a row
        "jitter_mm": 1000 * float(np.nanmean(accel)) if np.isfinite(accel).any() else np.nan,
        "bone_std_mm": 1000 * float(lengths.std(0).mean()) if len(lengths) else float("nan"),
    }


def compare(
    before: np.ndarray, after: np.ndarray, gt: np.ndarray, visible: np.ndarray | None = None
) -> dict:
    """MPJPE and P-MPJPE (mm) of ``before`` and ``after`` against ``gt`` (all (T,17,3), one joint
    order, root-relative), overall, per joint, per frame, and split by ``visible`` (T,17) labels
    (1 visible, 0 occluded) when given. Only frames complete in all three count (``frames`` of
    ``total``); ``per_frame`` keeps every frame, NaN where one is missing."""
    from .metrics import p_mpjpe_per_joint, per_joint_error, split_by_label

    before, after = np.asarray(before, np.float64), np.asarray(after, np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    counted = ~(missing_frames(before) | missing_frames(after) | missing_frames(gt))
    gt = gt[counted]
    report = {"frames": int(counted.sum()), "total": len(counted)}
    for name, poses in (("before", before), ("after", after)):
        local = poses[counted] - poses[counted, :1]
        err = 1000 * per_joint_error(local, gt - gt[:, :1])
        p_err = 1000 * p_mpjpe_per_joint(local, gt)
        per_frame = np.full(len(counted), np.nan)
        per_frame[counted] = err.mean(1)
        entry = {
            "mpjpe": float(err.mean()),
            "p_mpjpe": float(p_err.mean()),
            "per_joint": err.mean(0).tolist(),
            "per_frame": per_frame.tolist(),
        }
        if visible is not None:
            labels = (np.asarray(visible)[counted] > 0.5).astype(np.float64)
            split = split_by_label(err, labels)
            p_split = split_by_label(p_err, labels)
            entry.update(
                occluded=split["occluded"],
                visible=split["visible"],
                p_occluded=p_split["occluded"],
                p_visible=p_split["visible"],
            )
        report[name] = entry
    if visible is not None:
        report["occluded_share"] = float((np.asarray(visible)[counted] <= 0.5).mean())
    return report


def error_plot(
    curves: Sequence[tuple[np.ndarray, Sequence[float]]],
    width: int = 600,
    height: int = 200,
    top: float | None = None,
) -> tuple[np.ndarray, float]:
    """RGBA float image (height, width, 4), bottom row first as Blender stores pixels, of one or
    more (values, rgb) curves over frames, with a grey line every 50 units; NaN values (missing
    frames) leave a gap. numpy only."""
    image = np.ones((height, width, 4), dtype=np.float32)
    values = [np.asarray(v, dtype=np.float64) for v, _ in curves]
    top = top or max(1e-9, max(float(np.nanmax(v)) for v in values if v.size)) * 1.05
    for level in np.arange(50.0, top, 50.0):
        image[int(level / top * (height - 1)), :, :3] = 0.85
    columns = np.arange(width)
    for v, rgb in zip(values, (c for _, c in curves), strict=True):
        if v.size == 0:
            continue
        at = np.interp(columns, np.linspace(0, width - 1, len(v)), v)  # NaN next to a gap
        gap = np.isnan(at)
        rows = np.clip((np.nan_to_num(at) / top * (height - 1)).round().astype(int), 0, height - 1)
        lo = np.minimum(rows, np.roll(rows, 1))
        hi = np.maximum(rows, np.roll(rows, 1))
        fresh = np.roll(gap, 1)  # the first column, or the first after a gap: nothing to join
        fresh[0] = True
        lo[fresh], hi[fresh] = rows[fresh], rows[fresh]
        for x in columns[~gap]:  # a vertical run per column joins the curve without gaps
            image[lo[x] : hi[x] + 2, x, :3] = rgb
    return image, top
