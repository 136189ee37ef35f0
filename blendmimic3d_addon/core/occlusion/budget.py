"""Occlusion budget: how much of the people each camera loses over a take, to what, and where.

Pure numpy over typed codes (``labels.OcclusionType``) of one camera, shaped (F, P, 17) as the
export writes them. A "joint-frame" is one joint of one person in one frame; shares are fractions
of all joint-frames of the take. Targets are an artist's specification such as
``"2: object 20-40; 0: visible 60-100"`` (camera index, type name, percent range).
"""

import dataclasses
import re

import numpy as np

from .labels import LABEL_NAMES, N_TYPES, OcclusionType

# Timeline strips are drawn at most this many bins wide: one bin per frame up to this count.
STRIP_BINS = 64

HIDDEN = -1  # a target on every non-visible type together
_TYPE_BY_NAME = {name: code for code, name in LABEL_NAMES.items()}
# Short names an artist may type for a type (besides the full ones in LABEL_NAMES).
_ALIASES = {"person": OcclusionType.OTHER_PERSON, "other": OcclusionType.OTHER_PERSON,
            "out": OcclusionType.OUT_OF_FRAME, "behind": OcclusionType.BEHIND_CAMERA,
            "hidden": HIDDEN}  # fmt: skip


def _codes(types):
    types = np.asarray(types)
    if types.ndim != 3:
        raise ValueError(f"codes must be (frames, people, joints), got {types.shape}")
    return types


def type_shares(types):
    """Share (N_TYPES,) of the take's joint-frames that carry each code (sums to 1; zeros for an
    empty take)."""
    types = _codes(types)
    counts = np.bincount(types.ravel().astype(np.int64), minlength=N_TYPES)[:N_TYPES]
    return counts / max(types.size, 1)


def hidden_share(shares, code):
    """The share a target speaks of: one type's, or every non-visible type's (``HIDDEN``)."""
    shares = np.asarray(shares)
    if code == HIDDEN:
        return float(1.0 - shares[OcclusionType.VISIBLE])
    return float(shares[code])


def frame_hidden(types):
    """Joints hidden (any non-visible code) in each frame: (F,) counts over all people."""
    types = _codes(types)
    return (types != OcclusionType.VISIBLE).sum(axis=(1, 2))


def worst_frame(types):
    """Index of the frame with the most hidden joints (the first of equals); None when empty."""
    hidden = frame_hidden(types)
    return int(np.argmax(hidden)) if len(hidden) else None


def strip(types, bins=STRIP_BINS):
    """Timeline strip: (B, N_TYPES) shares of each code per bin of consecutive frames, B =
    min(bins, F). Bin b holds frames [edges[b], edges[b+1]) with ``edges`` returned (B+1,)."""
    types = _codes(types)
    frames = len(types)
    count = min(bins, frames)
    edges = np.linspace(0, frames, count + 1).round().astype(np.int64)
    per_frame = np.zeros((frames, N_TYPES))
    if frames:
        flat = types.reshape(frames, -1).astype(np.int64)
        rows = np.repeat(np.arange(frames), flat.shape[1])
        np.add.at(per_frame, (rows, flat.ravel()), 1.0)
        per_frame /= flat.shape[1]
    sums = np.add.reduceat(per_frame, edges[:-1], axis=0) if count else per_frame[:0]
    sizes = np.diff(edges)[:, None]
    return sums / np.maximum(sizes, 1), edges


@dataclasses.dataclass(frozen=True)
class Target:
    """Camera ``camera`` wants the share of ``code`` (or ``HIDDEN``) within [low, high]
    (fractions)."""

    camera: int
    code: int
    low: float
    high: float

    def met(self, shares):
        return self.low - 1e-12 <= hidden_share(shares, self.code) <= self.high + 1e-12

    @property
    def type_name(self):
        return "hidden" if self.code == HIDDEN else LABEL_NAMES[self.code]

    def __str__(self):
        return (f"camera {self.camera}: {self.type_name} "
                f"{self.low * 100:g}-{self.high * 100:g} %")  # fmt: skip


_TARGET = re.compile(
    r"^\s*(?:camera\s*)?(\d+)\s*:\s*([a-z_ ]+?)\s+(\d+(?:\.\d+)?)\s*(?:-|–|to)\s*"
    r"(\d+(?:\.\d+)?)\s*%?\s*$",
    re.IGNORECASE,
)


def parse_targets(text, camera_count=None):
    """Targets from text: entries separated by ';' or new lines, each
    ``CAMERA: TYPE LOW-HIGH`` in percent, e.g. ``2: object 20-40``. Raises ValueError naming
    the entry that does not parse."""
    targets = []
    for entry in re.split(r"[;\n]", text or ""):
        if not entry.strip():
            continue
        match = _TARGET.match(entry)
        if match is None:
            raise ValueError(f"{entry.strip()!r}: write targets as 'camera: type low-high', "
                             "e.g. '2: object 20-40'")  # fmt: skip
        camera, name, low, high = match.groups()
        name = name.strip().lower().replace(" ", "_")
        code = _TYPE_BY_NAME.get(name, _ALIASES.get(name))
        if code is None:
            names = ", ".join([*_TYPE_BY_NAME, "hidden"])
            raise ValueError(f"{entry.strip()!r}: unknown type {name!r} (one of {names})")
        low, high = float(low), float(high)
        if not 0 <= low <= high <= 100:
            raise ValueError(f"{entry.strip()!r}: the range must lie in 0-100 and go upwards")
        camera = int(camera)
        if camera_count is not None and camera >= camera_count:
            raise ValueError(f"{entry.strip()!r}: the scene has cameras 0..{camera_count - 1}")
        targets.append(Target(camera, int(code), low / 100, high / 100))
    return targets
