"""Occlusion labels from ray-cast results: why a joint is or is not seen by a camera.

A joint sits inside its own body, so the ray from the camera to the joint nearly always enters
the person's own skin just before the joint. That skin does not hide the joint when the ray,
from where it enters the body to the joint, never leaves the body again (no other limb in front,
no air gap) and enters at most ``OWN_FLESH`` before the joint (not along a whole limb). Surfaces
are closed and wound outwards, so each crossing says whether the ray enters or leaves. The ray is
limited to the joint's distance, so nothing behind the joint counts.

Codes are ``OcclusionType`` values (``labels.LABEL_DTYPE``); the crossings come from
``triangle_rays``.
"""

import dataclasses

import numpy as np

from .labels import LABEL_DTYPE, OcclusionType

# Owner codes of a ray hit besides a person index (>= 0): nothing, or a non-person object.
NO_HIT = -1
OBJECT_HIT = -2

# The most own flesh a joint can be seen through (metres): the hip joint seen from the side sits
# about 15 cm deep; an elbow seen along the whole forearm (25 cm) is hidden by it.
OWN_FLESH = 0.2
# Mesh faceting: a ray grazing a surface's edge for less than SLIVER does not pass through it, and
# an air gap of less than GAP between two parts of one body (an arm against the chest) is no gap.
SLIVER = 0.005
GAP = 0.02


def classify_rays(
    rays: np.ndarray,
    t: np.ndarray,
    owner: np.ndarray,
    entering: np.ndarray,
    own_person: np.ndarray,
    joint_distance: np.ndarray,
    flesh: float = OWN_FLESH,
) -> np.ndarray:
    """Occlusion code (R,) of each of R joint rays from every crossing on it.

    rays, t, owner, entering: one entry per surface crossing before the joint (``all_hits``):
    its ray, distance from the camera, owner code and whether the ray enters the surface there.
    own_person (R,): whose joint each ray goes to; joint_distance (R,): camera to joint.
    """
    own_person = np.asarray(own_person)
    joint_distance = np.asarray(joint_distance, dtype=np.float64)
    count = len(joint_distance)
    rays, t, owner, entering = _without_slivers(rays, t, owner, entering)
    mine = owner == own_person[rays]
    first_other = np.full(count, np.inf)
    np.minimum.at(first_other, rays[~mine], t[~mine])
    other_owner = np.full(count, NO_HIT)
    is_first = ~mine & (t == first_other[rays])
    other_owner[rays[is_first]] = owner[is_first]
    # The ray's own crossings in order: depth counts the own volumes it is inside; an exit back
    # to depth 0 means it left the body before the joint.
    rays_m, t_m, enter_m = rays[mine], t[mine], entering[mine]
    order = np.lexsort((t_m, rays_m))
    rays_m, t_m, enter_m = rays_m[order], t_m[order], enter_m[order]
    step = np.where(enter_m, 1, -1)
    total = np.cumsum(step)
    new_ray = np.ones(len(rays_m), dtype=bool)
    new_ray[1:] = rays_m[1:] != rays_m[:-1]
    base = np.repeat(
        total[new_ray] - step[new_ray], np.diff(np.append(np.flatnonzero(new_ray), len(rays_m)))
    )
    depth = total - base
    own_entry = np.full(count, np.inf)
    own_entry[rays_m[new_ray]] = t_m[new_ray]
    # Where the ray goes next after each own crossing: the next own crossing, or the joint.
    following = np.append(t_m[1:], np.inf)
    last = np.append(new_ray[1:], True)[: len(t_m)]
    following[last] = joint_distance[rays_m[last]]
    left = np.zeros(count, dtype=bool)
    left[rays_m[~enter_m & (depth <= 0) & (following - t_m >= GAP)]] = True

    codes = np.full(count, OcclusionType.VISIBLE, dtype=LABEL_DTYPE)
    self_hidden = np.isfinite(own_entry) & (left | (joint_distance - own_entry > flesh))
    codes[self_hidden] = OcclusionType.SELF
    other_first = first_other < own_entry
    codes[other_first & (other_owner >= 0)] = OcclusionType.OTHER_PERSON
    codes[other_first & (other_owner == OBJECT_HIT)] = OcclusionType.OBJECT
    return codes


def _without_slivers(rays, t, owner, entering):
    """Drop each entry into a surface that the ray leaves again (same owner) within SLIVER."""
    rays, t, owner = np.asarray(rays), np.asarray(t, np.float64), np.asarray(owner)
    entering = np.asarray(entering, dtype=bool)
    order = np.lexsort((t, owner, rays))
    rays, t, owner, entering = rays[order], t[order], owner[order], entering[order]
    pair = np.zeros(len(t), dtype=bool)
    pair[:-1] = (
        entering[:-1] & ~entering[1:] & (rays[1:] == rays[:-1]) & (owner[1:] == owner[:-1])
        & (t[1:] - t[:-1] < SLIVER)
    )  # fmt: skip
    drop = pair.copy()
    drop[1:] |= pair[:-1]
    return rays[~drop], t[~drop], owner[~drop], entering[~drop]


@dataclasses.dataclass
class PointRays:
    """The rays to cast for points seen by cameras (``point_rays``): from the camera centre
    ``starts`` (R,3) to the point ``ends`` (R,3), in the frame stored in ``slots`` (R,), and
    whose point each is (``person`` (R,))."""

    starts: np.ndarray
    ends: np.ndarray
    slots: np.ndarray
    person: np.ndarray

    def targets_of(self):
        """What the classifiers take besides the crossings: whose point, and how far it is."""
        return self.person, np.linalg.norm(self.ends - self.starts, axis=1)


def point_rays(points, centres, slots, in_frame, in_front):
    """Rays from each camera to each point in view: ``points`` (F,P,N,3) of F frames kept in
    ``slots`` (F,), camera ``centres`` (C,3), masks (F,C,P,N) (``needs_ray``); in mask order."""
    mask = needs_ray(in_frame, in_front)
    shape = mask.shape
    return PointRays(
        np.broadcast_to(centres[None, :, None, None], shape + (3,))[mask],
        np.broadcast_to(points[:, None], shape + (3,))[mask],
        np.broadcast_to(np.asarray(slots)[:, None, None, None], shape)[mask],
        np.broadcast_to(np.arange(shape[2])[:, None], shape)[mask],
    )


def classify(ray_codes: np.ndarray, in_frame: np.ndarray, in_front: np.ndarray) -> np.ndarray:
    """Codes (...) of every joint-camera entry: ``ray_codes`` where a ray was cast
    (``needs_ray``), out of frame and behind the camera elsewhere."""
    in_frame = np.asarray(in_frame, dtype=bool)
    in_front = np.asarray(in_front, dtype=bool)
    codes = np.full(in_frame.shape, OcclusionType.VISIBLE, dtype=LABEL_DTYPE)
    codes[needs_ray(in_frame, in_front)] = ray_codes
    codes[~in_frame] = OcclusionType.OUT_OF_FRAME
    codes[~in_front] = OcclusionType.BEHIND_CAMERA
    return codes


def needs_ray(in_frame: np.ndarray, in_front: np.ndarray) -> np.ndarray:
    """Rays worth casting: joints that are in front of the camera and inside the image."""
    return np.asarray(in_frame, dtype=bool) & np.asarray(in_front, dtype=bool)


def agreement(
    labels_visible: np.ndarray, reference_visible: np.ndarray, mask: np.ndarray | None = None
) -> float:
    """Share of entries where two visible/occluded verdicts agree (optionally within ``mask``)."""
    same = np.asarray(labels_visible, dtype=bool) == np.asarray(reference_visible, dtype=bool)
    if mask is not None:
        same = same[np.asarray(mask, dtype=bool)]
    return float(same.mean()) if same.size else float("nan")
