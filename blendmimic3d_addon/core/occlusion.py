"""Occlusion labels from ray-cast results: why a joint is or is not seen by a camera.

A joint sits inside its own body, so the ray from the camera to the joint nearly always hits the
person's own skin just before the joint. That hit is the joint's own surface, not an occlusion,
when it lies within the joint's *allowance* (a margin derived from how deep the joint sits under
its skin). The ray is limited to the joint's distance, so nothing behind the joint counts.

All functions take arrays that broadcast together, typically (C, P, J) for cameras, people and
joints, and return ``OcclusionType`` codes (``labels.LABEL_DTYPE``).
"""

import numpy as np

from .labels import LABEL_DTYPE, OcclusionType

# Owner codes of a ray hit besides a person index (>= 0): nothing, or a non-person object.
NO_HIT = -1
OBJECT_HIT = -2

# A ray that enters the limb obliquely travels further than the depth of the joint under the skin
# before reaching it; the factor covers rays up to 60 degrees from the skin normal.
ALLOWANCE_FACTOR = 2.0
ALLOWANCE_MARGIN = 0.02  # metres: mesh faceting and skinning noise


def inside_allowance(surface_distance, factor=ALLOWANCE_FACTOR, margin=ALLOWANCE_MARGIN):
    """How far before the joint a hit on its own body still counts as the joint's own skin.

    ``surface_distance`` is the distance from the joint to the nearest surface of its own body
    (inf when the person has no mesh, which leaves only the margin).
    """
    depth = np.asarray(surface_distance, dtype=np.float64)
    depth = np.where(np.isfinite(depth), depth, 0.0)
    return factor * depth + margin


def classify(joint_distance, hit_distance, hit_owner, own_person, allowance, in_frame, in_front):
    """Occlusion code of each joint-camera ray.

    joint_distance: distance from the camera centre to the joint.
    hit_distance: distance to the first surface hit on that ray before the joint (inf: none).
    hit_owner: what was hit: a person index, ``OBJECT_HIT`` or ``NO_HIT``.
    own_person: the person index the joint belongs to.
    allowance: ``inside_allowance`` of the joint.
    in_frame: the joint projects inside the image; in_front: it lies in front of the camera.
    """
    joint_distance = np.asarray(joint_distance, dtype=np.float64)
    hit_distance = np.asarray(hit_distance, dtype=np.float64)
    hit_owner = np.asarray(hit_owner)
    hit = (hit_owner != NO_HIT) & (hit_distance < joint_distance)
    own = hit & (hit_owner == own_person)
    own_skin = own & (joint_distance - hit_distance <= allowance)

    # Later assignments win: the camera-geometry cases override any hit.
    shape = np.broadcast_shapes(
        joint_distance.shape, hit_distance.shape, hit_owner.shape, np.shape(own_person),
        np.shape(allowance), np.shape(in_frame), np.shape(in_front),
    )  # fmt: skip
    codes = np.full(shape, OcclusionType.VISIBLE, dtype=LABEL_DTYPE)
    codes[np.broadcast_to(hit & (hit_owner == OBJECT_HIT), shape)] = OcclusionType.OBJECT
    other = hit & (hit_owner >= 0) & (hit_owner != own_person)
    codes[np.broadcast_to(other, shape)] = OcclusionType.OTHER_PERSON
    codes[np.broadcast_to(own & ~own_skin, shape)] = OcclusionType.SELF
    codes[np.broadcast_to(~np.asarray(in_frame, dtype=bool), shape)] = OcclusionType.OUT_OF_FRAME
    codes[np.broadcast_to(~np.asarray(in_front, dtype=bool), shape)] = OcclusionType.BEHIND_CAMERA
    return codes


def needs_ray(in_frame, in_front):
    """Rays worth casting: joints that are in front of the camera and inside the image."""
    return np.asarray(in_frame, dtype=bool) & np.asarray(in_front, dtype=bool)


def agreement(labels_visible, reference_visible, mask=None):
    """Share of entries where two visible/occluded verdicts agree (optionally within ``mask``)."""
    same = np.asarray(labels_visible, dtype=bool) == np.asarray(reference_visible, dtype=bool)
    if mask is not None:
        same = same[np.asarray(mask, dtype=bool)]
    return float(same.mean()) if same.size else float("nan")
