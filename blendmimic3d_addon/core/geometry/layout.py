"""Where people stand: positions on the floor and headings for the layout presets.

Pure numpy. Positions are metres in the world's XY plane (z up). A heading is the rotation about
+Z in radians, counter-clockwise seen from above; heading 0 is the way an imported Mixamo
character faces, towards -Y (the front view looks at its face).
"""

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

PRESETS = ("SINGLE", "SIDE_BY_SIDE", "FACING_PAIR", "CIRCLE", "QUEUE", "RANDOM")

# Random placement gives up after this many rejected draws per person.
_RANDOM_TRIES = 2000


@dataclass(frozen=True)
class Layout:
    positions: np.ndarray  # (n, 2) float64, metres
    headings: np.ndarray  # (n,) float64, radians


def facing(heading: ArrayLike) -> np.ndarray:
    """Unit floor vector(s) a person with ``heading`` faces: heading 0 faces -Y."""
    heading = np.asarray(heading, dtype=np.float64)
    return np.stack([np.sin(heading), -np.cos(heading)], axis=-1)


def heading_towards(direction: ArrayLike) -> np.ndarray:
    """The heading that faces the floor vector(s) ``direction`` (inverse of ``facing``)."""
    direction = np.asarray(direction, dtype=np.float64)
    return np.arctan2(direction[..., 0], -direction[..., 1])


def min_distance(positions: np.ndarray) -> float:
    """Smallest distance between two people (inf for fewer than two)."""
    positions = np.asarray(positions, dtype=np.float64)
    if len(positions) < 2:
        return math.inf
    gaps = positions[:, None, :] - positions[None, :, :]
    dist = np.linalg.norm(gaps, axis=-1)
    return float(dist[np.triu_indices(len(positions), k=1)].min())


def layout(
    preset: str,
    count: int,
    spacing: float = 1.2,
    centre: tuple[float, float] = (0.0, 0.0),
    seed: int = 0,
    area: tuple[float, float] = (4.0, 4.0),
    min_gap: float = 0.8,
) -> Layout:
    """Positions and headings of ``count`` people for ``preset``.

    ``spacing`` is the distance between neighbours in the regular presets; ``RANDOM`` draws
    positions in an ``area`` (width, depth) rectangle, at least ``min_gap`` apart, with random
    headings, reproducibly from ``seed``. Raises ValueError with a message for the user when
    the request cannot be met.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown layout preset {preset!r}; expected one of {', '.join(PRESETS)}")
    count = int(count)
    if count < 1:
        raise ValueError("a layout needs at least one person")
    if preset == "SINGLE" and count != 1:
        raise ValueError(f"the single preset places one person, not {count}")
    if preset != "RANDOM" and not spacing > 0:
        raise ValueError(f"spacing must be positive, not {spacing}")

    if preset == "RANDOM":
        positions, headings = _random(count, area, min_gap, seed)
    else:
        positions, headings = _REGULAR[preset](count, float(spacing))
    positions = positions + np.asarray(centre, dtype=np.float64)
    return Layout(positions=positions, headings=np.asarray(headings, dtype=np.float64))


def _centred_line(count, spacing):
    return (np.arange(count, dtype=np.float64) - (count - 1) / 2.0) * spacing


def _single(count, spacing):
    return np.zeros((1, 2)), np.zeros(1)


def _side_by_side(count, spacing):
    # A row along X, everyone facing the front (-Y).
    positions = np.stack([_centred_line(count, spacing), np.zeros(count)], axis=1)
    return positions, np.zeros(count)


def _facing_pair(count, spacing):
    # Two lines facing each other across X; pairs stand in rows along Y.
    rows = (count + 1) // 2
    row_y = _centred_line(rows, spacing)
    positions, headings = [], []
    for i in range(count):
        left = i % 2 == 0
        positions.append((-spacing / 2 if left else spacing / 2, row_y[i // 2]))
        headings.append(heading_towards((1.0, 0.0) if left else (-1.0, 0.0)))
    return np.array(positions, dtype=np.float64), np.array(headings)


def _circle(count, spacing):
    # Neighbours are one spacing apart along the chord; everyone faces the centre.
    if count == 1:
        return np.zeros((1, 2)), np.zeros(1)
    radius = spacing / (2.0 * math.sin(math.pi / count))
    angles = 2.0 * math.pi * np.arange(count) / count - math.pi / 2
    positions = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return positions, heading_towards(-positions)


def _queue(count, spacing):
    # A line along Y; everyone faces the head of the queue at -Y, each behind the one before.
    positions = np.stack([np.zeros(count), _centred_line(count, spacing)], axis=1)
    return positions, np.zeros(count)


_REGULAR = {
    "SINGLE": _single,
    "SIDE_BY_SIDE": _side_by_side,
    "FACING_PAIR": _facing_pair,
    "CIRCLE": _circle,
    "QUEUE": _queue,
}


def _random(count, area, min_gap, seed):
    width, depth = (float(a) for a in area)
    if not (width > 0 and depth > 0):
        raise ValueError(f"the random area must be positive, not {width} x {depth} m")
    if min_gap < 0:
        raise ValueError(f"the minimum distance must not be negative, not {min_gap}")
    rng = np.random.default_rng(seed)
    placed = []
    for _ in range(count):
        for _try in range(_RANDOM_TRIES):
            candidate = (rng.random(2) - 0.5) * (width, depth)
            if all(np.linalg.norm(candidate - p) >= min_gap for p in placed):
                placed.append(candidate)
                break
        else:
            raise ValueError(
                f"cannot place {count} people at least {min_gap:g} m apart in a "
                f"{width:g} x {depth:g} m area; enlarge the area or lower the minimum distance"
            )
    headings = rng.uniform(-math.pi, math.pi, size=count)
    return np.array(placed, dtype=np.float64), headings
