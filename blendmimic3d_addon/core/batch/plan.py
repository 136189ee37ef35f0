"""One subject's plan, drawn from the recipe with a generator seeded by (seed, subject name) alone.

So a subject is the same whichever process, shard or order builds it, and on every rerun. The
plan is plain data (``as_dict`` is written beside the subject); ``blender/batch.py`` builds the
scene from it.
"""

import dataclasses
import hashlib

import numpy as np


@dataclasses.dataclass(frozen=True)
class PersonPlan:
    character: int  # index into recipe.characters
    action: str | None  # mannequin: its take; fbx: None (the file's own animation)
    start_offset: int
    variant: int = 0  # fbx: which of the character's files


@dataclasses.dataclass(frozen=True)
class CameraJitter:
    height: float  # metres up (+) or down
    distance: float  # metres back (+) or forward along the view axis
    heading: float  # degrees about the vertical through the people's centre
    focal: float  # factor on the focal length


@dataclasses.dataclass(frozen=True)
class SubjectPlan:
    name: str
    seed: int  # the generator's seed, from (recipe seed, name)
    people: tuple  # PersonPlan, primary first
    takes: tuple  # the primary person's actions, exported in this order (mannequin only)
    layout: str
    spacing: float
    layout_seed: int
    scenario: str
    occluders: tuple  # (kind, person index, seed) of extra occluders around a person
    cameras: tuple  # CameraJitter per camera
    environment: str  # recipe ENVIRONMENTS
    lighting: str  # recipe LIGHTINGS
    lighting_seed: int
    looks_seed: int  # the people's looks (core/render/appearance.looks)

    def as_dict(self):
        return dataclasses.asdict(self)


def subject_seed(seed, name):
    """A 63-bit seed from the recipe's seed and the subject's name, stable across processes and
    Python versions (hashlib, not ``hash()``)."""
    digest = hashlib.sha256(f"blendmimic3d-batch\0{int(seed)}\0{name}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def _span(rng, span, integer):
    low, high = span
    if integer:
        return int(rng.integers(low, high + 1))
    return float(rng.uniform(low, high)) if high > low else float(low)


def _pm(rng, amount):
    """Uniform in [-amount, amount], rounded to 1e-6 so the plan's text is short and exact."""
    return round(float(rng.uniform(-amount, amount)), 6) if amount > 0 else 0.0


def camera_count(recipe):
    return recipe.ring_count if recipe.camera_preset == "RING" else 4


def draw_plan(recipe, name):
    """The plan of subject ``name``: a function of the recipe and the name only."""
    seed = subject_seed(recipe.seed, name)
    rng = np.random.default_rng(seed)
    weights = np.array([c.weight for c in recipe.characters], dtype=np.float64)
    count = _span(rng, recipe.people, True)
    picks = [int(i) for i in rng.choice(len(weights), size=count, p=weights / weights.sum())]
    people, takes = [], ()
    for index, pick in enumerate(picks):
        character = recipe.characters[pick]
        offset = 0 if index == 0 else _span(rng, recipe.start_offset, True)
        if character.kind != "mannequin":
            variant = int(rng.integers(len(character.paths)))
            people.append(PersonPlan(pick, None, offset, variant))
            continue
        pool = list(character.actions)
        if index == 0:
            wanted = min(_span(rng, recipe.takes, True), len(pool))
            order = rng.permutation(len(pool))[:wanted]
            takes = tuple(pool[i] for i in sorted(order))
            people.append(PersonPlan(pick, takes[0], 0))
        else:
            people.append(PersonPlan(pick, pool[int(rng.integers(len(pool)))], offset))
    layout = recipe.layouts[int(rng.integers(len(recipe.layouts)))]
    if count == 1:
        layout = "SINGLE"
    spacing = round(_span(rng, recipe.spacing, False), 6)
    layout_seed = int(rng.integers(2**31))
    scenario = recipe.scenarios[int(rng.integers(len(recipe.scenarios)))]
    extra = _span(rng, recipe.occluders, True)
    kinds = recipe.occluder_kinds
    occluders = tuple(
        (kinds[int(rng.integers(len(kinds)))], int(rng.integers(count)), int(rng.integers(2**31)))
        for _ in range(extra)
    )
    jitter = recipe.jitter
    cameras = tuple(
        CameraJitter(
            _pm(rng, jitter["height"]),
            _pm(rng, jitter["distance"]),
            _pm(rng, jitter["heading"]),
            round(1.0 + _pm(rng, jitter["focal"]), 6),
        )
        for _ in range(camera_count(recipe))
    )
    # Drawn after everything above, so adding them left earlier recipes' subjects as they were.
    environment = recipe.environments[int(rng.integers(len(recipe.environments)))]
    lighting = recipe.lightings[int(rng.integers(len(recipe.lightings)))]
    lighting_seed, looks_seed = (int(v) for v in rng.integers(2**31, size=2))
    return SubjectPlan(name, seed, tuple(people), takes, layout, spacing, layout_seed, scenario,
                       occluders, cameras, environment, lighting, lighting_seed,
                       looks_seed)  # fmt: skip
