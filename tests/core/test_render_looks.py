"""The pure parts of the looks: presets, colours, environment layouts and lighting plans."""

import numpy as np
import pytest

from blendmimic3d_addon.core.errors import DatasetError
from blendmimic3d_addon.core.occlusion import triangle_rays
from blendmimic3d_addon.core.render import colour, environment_layout, lighting_plan, presets

PEOPLE = np.array([[0.0, 0.0], [1.2, 0.3], [0.5, 2.0]])
CAMERAS = np.array([[4.0, -4.5, 1.6], [-4.2, -4.0, 1.5], [4.1, 4.4, 1.7], [-3.9, 4.6, 1.6]])


def test_preset_samples_default_or_given():
    assert presets.samples_for("REALISTIC", 0) == presets.PRESETS["REALISTIC"].samples
    assert presets.samples_for("PREVIEW", 5) == 5
    assert {p.engine for p in presets.PRESETS.values()} == {"WORKBENCH", "EEVEE", "CYCLES"}


def test_colour_temperature_runs_warm_to_blue():
    warm, day, blue = (colour.kelvin_to_rgb(k) for k in (2700, 6500, 9000))
    assert warm[0] == 1.0 and warm[2] < 0.2
    assert min(day) > 0.9
    assert blue[2] == 1.0 and blue[0] < 0.8
    assert colour.kelvin_to_rgb(100) == colour.kelvin_to_rgb(2000)


def test_hsv_jitter_stays_near_and_in_range():
    rng = np.random.default_rng(1)
    out = [colour.jitter_hsv((0.6, 0.3, 0.2), rng, 0.05, 0.2, 0.2) for _ in range(100)]
    out = np.array(out)
    assert out.min() >= 0 and out.max() <= 1
    assert np.abs(out - (0.6, 0.3, 0.2)).max() < 0.25 and out.std(axis=0).min() > 0.01


@pytest.mark.parametrize("kind", ["CAPTURE_ROOM", "SHOP"])
def test_rooms_hold_people_and_cameras_inside_closed_walls(kind):
    layout = environment_layout.build(kind, PEOPLE, CAMERAS)
    x0, x1, y0, y1 = layout.extent
    for x, y in np.concatenate([PEOPLE, CAMERAS[:, :2]]):
        assert x0 + 0.99 < x < x1 - 0.99 and y0 + 0.99 < y < y1 - 0.99
    assert layout.height >= max(3.0, CAMERAS[:, 2].max() + 0.5 - 1e-9)
    assert len(layout.ceiling_lights) == 4
    for part in layout.parts:  # closed meshes: every edge shared by exactly two faces
        edges = {}
        for face in part.faces:
            for a, b in zip(face, face[1:] + face[:1], strict=True):
                edges[frozenset((a, b))] = edges.get(frozenset((a, b)), 0) + 1
        assert set(edges.values()) == {2}, part.name
    shelves = [p for p in layout.parts if p.name.startswith("Shelf")]
    assert bool(shelves) == (kind == "SHOP")
    for shelf in shelves:
        centre = shelf.verts.mean(axis=0)[:2]
        keep_clear = np.concatenate([PEOPLE, CAMERAS[:, :2]])
        assert np.linalg.norm(keep_clear - centre, axis=1).min() >= 1.0
        assert x0 <= shelf.verts[:, 0].min() and shelf.verts[:, 0].max() <= x1


def test_no_wall_crosses_a_ray_from_a_camera_inside_to_a_person():
    layout = environment_layout.build("SHOP", PEOPLE, CAMERAS)
    verts = np.concatenate([p.verts for p in layout.parts])
    offsets = np.cumsum([0] + [len(p.verts) for p in layout.parts])
    triangles = np.array(
        [
            (f[0] + o, f[i] + o, f[i + 1] + o)
            for p, o in zip(layout.parts, offsets, strict=False)
            for f in p.faces
            for i in range(1, len(f) - 1)
            if not p.name.startswith("Shelf")
        ]
    )
    chunks = triangle_rays.TriangleChunks(
        np.pad(triangles, ((0, -len(triangles) % triangle_rays.CHUNK), (0, 0))),
        np.zeros(-(-len(triangles) // triangle_rays.CHUNK), np.int64),
    )
    origins = np.repeat(CAMERAS, len(PEOPLE), axis=0)
    targets = np.tile(np.c_[PEOPLE, np.full(len(PEOPLE), 1.0)], (len(CAMERAS), 1))
    planar = verts.T.astype(np.float32)[None]
    hits = chunks.cast(origins, targets, planar, np.zeros(len(origins), np.int64))
    assert len(hits[0]) == 0
    outside = np.tile([layout.extent[1] + 1.0, 0.0, 1.5], (len(PEOPLE), 1))  # behind a wall
    hits = chunks.cast(outside, targets[: len(PEOPLE)], planar, np.zeros(len(PEOPLE), np.int64))
    assert sorted(set(hits[0].tolist())) == list(range(len(PEOPLE)))


def test_too_wide_or_empty_is_an_error():
    with pytest.raises(DatasetError, match="no people or cameras"):
        environment_layout.build("CAPTURE_ROOM", np.zeros((0, 2)), np.zeros((0, 3)))
    with pytest.raises(DatasetError, match="too wide"):
        environment_layout.build("CAPTURE_ROOM", [[0, 0], [900, 0]], CAMERAS)
    with pytest.raises(DatasetError, match="unknown 'CAVE'"):
        environment_layout.build("CAVE", PEOPLE, CAMERAS)


def test_outdoors_is_one_wide_ground():
    layout = environment_layout.build("OUTDOORS", PEOPLE, CAMERAS)
    (ground,) = layout.parts
    assert ground.name == "Ground" and ground.verts[:, 2].max() == 0.0
    assert np.ptp(ground.verts[:, 0]) >= environment_layout.OUTDOOR_GROUND


def test_lighting_plans_are_seeded_and_vary():
    def rig(preset, seed):
        return lighting_plan.plan(preset, seed, (0.0, 0.0, 0.0), [(0, 0, 2.95)], 3.0)

    for preset in lighting_plan.PRESETS:
        assert rig(preset, 1) == rig(preset, 1)
        assert rig(preset, 1) != rig(preset, 2)
    studio = rig("STUDIO", 5)
    key, fill = studio.lights
    assert key.energy > fill.energy and key.location[1] < 0  # in front of the people (-y)
    for light in studio.lights:  # aimed at chest height above the centre
        to_target = np.array((0.0, 0.0, 1.0)) - light.location
        assert np.dot(to_target / np.linalg.norm(to_target), light.direction) > 0.999
    skies = {rig("DAYLIGHT", s).world.hdri for s in range(40)}
    assert skies == set(lighting_plan.DAYLIGHT_SKIES)
    sun = rig("DAYLIGHT", 3).lights[0]
    assert sun.kind == "SUN" and sun.direction[2] < 0
    with pytest.raises(DatasetError, match="unknown 'DISCO'"):
        rig("DISCO", 0)
