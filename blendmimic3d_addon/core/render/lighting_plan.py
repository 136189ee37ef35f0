"""Lighting presets with seeded variation, as numbers (the Blender side makes the lights).

Each preset is a rig of lights and a world; the seed varies what a real capture varies between
sessions: where the key and fill stand, the sun's direction, which sky and how it is turned,
strengths and colour temperature. Same seed, same lighting.
"""

import dataclasses
import math

import numpy as np

from ..errors import DatasetError
from .colour import kelvin_to_rgb

PRESETS = {
    "CEILING": ("Ceiling Lights", "Area lights under the ceiling, as in an office or a shop"),
    "STUDIO": ("Studio", "A key and a fill area light on stands, a dim room"),
    "DAYLIGHT": ("Daylight", "The sun and a bundled sky (world HDRI)"),
}
# Blender's bundled studio-light worlds (datafiles/studiolights/world/<name>.exr) that are skies.
DAYLIGHT_SKIES = ("city", "courtyard", "forest", "sunrise", "sunset")


@dataclasses.dataclass(frozen=True)
class Light:
    name: str
    kind: str  # AREA or SUN
    location: tuple
    direction: tuple  # unit vector the light shines along
    energy: float  # W (area) or W/m2 (sun)
    colour: tuple
    size: float = 1.0


@dataclasses.dataclass(frozen=True)
class World:
    hdri: str  # a bundled sky's name, or "" for a plain colour
    rotation: float  # radians about z
    strength: float
    colour: tuple


@dataclasses.dataclass(frozen=True)
class Rig:
    lights: list
    world: World


def _towards(source, target):
    d = np.asarray(target, float) - np.asarray(source, float)
    return tuple(float(v) for v in d / np.linalg.norm(d))


def plan(preset, seed, centre, ceiling_lights=(), height=3.0):
    """The lights and world of ``preset`` around ``centre`` (x, y, floor z), varied by ``seed``.
    ``ceiling_lights``: where the room wants its ceiling lights (CEILING)."""
    if preset not in PRESETS:
        raise DatasetError(None, "lighting", f"unknown {preset!r}; one of {', '.join(PRESETS)}")
    rng = np.random.default_rng(seed)
    cx, cy, floor = (float(v) for v in centre)
    target = (cx, cy, floor + 1.0)  # chest height
    kelvin = rng.uniform(3000.0, 6500.0)
    colour = kelvin_to_rgb(kelvin)
    if preset == "DAYLIGHT":
        azimuth, elevation = rng.uniform(0, 2 * math.pi), rng.uniform(0.35, 1.2)
        direction = (
            -math.cos(elevation) * math.cos(azimuth),
            -math.cos(elevation) * math.sin(azimuth),
            -math.sin(elevation),
        )
        sun = Light("Sun", "SUN", (cx, cy, floor + 10.0), direction, rng.uniform(2.0, 4.5),
                    kelvin_to_rgb(rng.uniform(4500.0, 6500.0)))  # fmt: skip
        sky = World(str(rng.choice(DAYLIGHT_SKIES)), rng.uniform(0, 2 * math.pi),
                    rng.uniform(0.6, 1.4), (1.0, 1.0, 1.0))  # fmt: skip
        return Rig([sun], sky)
    ambient = World("", 0.0, rng.uniform(0.15, 0.35), (0.8, 0.8, 0.8))
    if preset == "CEILING":
        points = list(ceiling_lights) or [(cx, cy, floor + height - 0.05)]
        energy = rng.uniform(250.0, 450.0)
        lights = [
            Light(f"Ceiling_{n}", "AREA", tuple(p), (0.0, 0.0, -1.0), energy, colour, 1.2)
            for n, p in enumerate(points)
        ]
        return Rig(lights, ambient)
    lights = []
    for name, energy, side in (
        ("Key", rng.uniform(500, 900), 1),
        ("Fill", rng.uniform(150, 300), -1),
    ):
        azimuth = -math.pi / 2 + side * rng.uniform(0.5, 1.1)  # in front (-y), to one side
        distance, up = rng.uniform(3.0, 4.5), rng.uniform(1.2, 2.2)
        where = (cx + distance * math.cos(azimuth), cy + distance * math.sin(azimuth), floor + up)
        lights.append(Light(name, "AREA", where, _towards(where, target), energy, colour, 1.5))
    return Rig(lights, ambient)
