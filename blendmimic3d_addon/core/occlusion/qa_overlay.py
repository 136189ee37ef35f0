"""QA overlay: 2D keypoints and skeleton lines drawn over video frames, coloured by occlusion type.

Pure numpy. Frames are (H, W, 3 or 4) uint8 arrays with the top row first, and keypoints are in
the dataset's pixel convention: the image spans [0, W] x [0, H], so pixel (x, y) has its centre at
(x + 0.5, y + 0.5), and y grows downwards.
"""

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from .labels import OcclusionType

# A joint whose legacy label says "occluded" (0) when no typed label tells why.
UNTYPED_OCCLUDED = -1

# RGB per occlusion type; chosen to stay apart from each other and from grey backgrounds.
TYPE_COLOURS = {
    int(OcclusionType.VISIBLE): (40, 220, 60),  # green
    int(OcclusionType.SELF): (255, 210, 0),  # yellow
    int(OcclusionType.OTHER_PERSON): (255, 120, 0),  # orange
    int(OcclusionType.OBJECT): (235, 30, 30),  # red
    int(OcclusionType.OUT_OF_FRAME): (0, 200, 255),  # cyan
    int(OcclusionType.BEHIND_CAMERA): (150, 60, 255),  # violet
    UNTYPED_OCCLUDED: (255, 0, 255),  # magenta
}
_UNKNOWN_COLOUR = (255, 255, 255)


def types_from_legacy(labels: ArrayLike) -> np.ndarray:
    """Typed codes from legacy labels (1 visible, 0 occluded or out of frame)."""
    labels = np.asarray(labels)
    return np.where(labels >= 0.5, int(OcclusionType.VISIBLE), UNTYPED_OCCLUDED).astype(np.int64)


def default_sizes(height: int, width: int) -> tuple[int, int]:
    """Dot radius and line thickness in pixels that read well at this frame size."""
    radius = max(2.0, min(height, width) / 160.0)
    return radius, max(1.0, radius / 2.0)


def draw_keypoints(
    frame: np.ndarray,
    uv: np.ndarray,
    types: np.ndarray,
    parents: Sequence[int],
    radius: float | None = None,
    thickness: float | None = None,
) -> np.ndarray:
    """A copy of ``frame`` with skeletons drawn on it.

    ``uv`` is (J, 2) or (P, J, 2) pixels, ``types`` (J,) or (P, J) occlusion codes and
    ``parents`` (J,) the parent index of each joint (-1 for the root). A bone takes the colour of
    its child joint. Joints behind the camera or with non-finite coordinates are not drawn (their
    projection means nothing), nor are the bones that touch them.
    """
    out = np.array(frame, dtype=np.uint8, copy=True)
    if out.ndim != 3 or out.shape[2] not in (3, 4):
        raise ValueError(f"frame must be (H, W, 3|4), got {out.shape}")
    uv = np.asarray(uv, dtype=np.float64)
    types = np.asarray(types, dtype=np.int64)
    joints = len(parents)
    uv = uv.reshape(-1, joints, 2)
    types = types.reshape(-1, joints)
    if types.shape[0] != uv.shape[0]:
        raise ValueError(f"uv is for {uv.shape[0]} people but types for {types.shape[0]}")
    default_radius, default_thickness = default_sizes(out.shape[0], out.shape[1])
    radius = default_radius if radius is None else radius
    thickness = default_thickness if thickness is None else thickness
    for person_uv, person_types in zip(uv, types, strict=True):
        drawable = np.isfinite(person_uv).all(axis=1) & (
            person_types != int(OcclusionType.BEHIND_CAMERA)
        )
        for joint, parent in enumerate(parents):
            if parent >= 0 and drawable[joint] and drawable[parent]:
                colour = _colour(person_types[joint])
                draw_segment(out, person_uv[parent], person_uv[joint], thickness, colour)
        for joint in np.flatnonzero(drawable):
            draw_disc(out, person_uv[joint], radius, _colour(person_types[joint]))
    return out


def _colour(code):
    return TYPE_COLOURS.get(int(code), _UNKNOWN_COLOUR)


def draw_disc(
    frame: np.ndarray, centre: Sequence[float], radius: float, colour: Sequence[int]
) -> None:
    """Fill the pixels whose centres lie within ``radius`` of ``centre`` (in place)."""
    box = _box(frame, centre, centre, radius)
    if box is None:
        return
    x0, x1, y0, y1 = box
    xs = np.arange(x0, x1) + 0.5 - centre[0]
    ys = np.arange(y0, y1) + 0.5 - centre[1]
    mask = ys[:, None] ** 2 + xs[None, :] ** 2 <= radius * radius
    frame[y0:y1, x0:x1, :3][mask] = colour


def draw_segment(
    frame: np.ndarray,
    start: Sequence[float],
    end: Sequence[float],
    thickness: float,
    colour: Sequence[int],
) -> None:
    """Fill the pixels whose centres lie within ``thickness / 2`` of the segment (in place)."""
    half = max(thickness / 2.0, 0.5)
    box = _box(frame, start, end, half)
    if box is None:
        return
    x0, x1, y0, y1 = box
    px = np.arange(x0, x1)[None, :] + 0.5
    py = np.arange(y0, y1)[:, None] + 0.5
    dx, dy = end[0] - start[0], end[1] - start[1]
    length2 = dx * dx + dy * dy
    if length2 > 0:
        t = np.clip(((px - start[0]) * dx + (py - start[1]) * dy) / length2, 0.0, 1.0)
    else:
        t = np.zeros((1, 1))
    distance2 = (px - start[0] - t * dx) ** 2 + (py - start[1] - t * dy) ** 2
    frame[y0:y1, x0:x1, :3][distance2 <= half * half] = colour


def pad_to_even(frame: np.ndarray) -> np.ndarray:
    """``frame`` with a black row at the bottom and/or column at the right where H or W is odd.

    H.264 needs even sizes; padding at the bottom and right keeps the top-left origin, so the
    dataset's 2D keypoints still land on the same pixels of the video.
    """
    height, width = frame.shape[:2]
    if height % 2 == 0 and width % 2 == 0:
        return frame
    padding = [(0, height % 2), (0, width % 2)] + [(0, 0)] * (frame.ndim - 2)
    return np.pad(frame, padding)


def _box(frame, a, b, pad):
    """Pixel bounds (x0, x1, y0, y1) around points a and b, clipped to the frame; None if empty."""
    height, width = frame.shape[:2]
    x0 = max(int(np.floor(min(a[0], b[0]) - pad)), 0)
    x1 = min(int(np.ceil(max(a[0], b[0]) + pad)) + 1, width)
    y0 = max(int(np.floor(min(a[1], b[1]) - pad)), 0)
    y1 = min(int(np.ceil(max(a[1], b[1]) + pad)) + 1, height)
    if x0 >= x1 or y0 >= y1:
        return None
    return x0, x1, y0, y1
