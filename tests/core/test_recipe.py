"""Recipes: the example reads, every mistake is named with its key and line, plans depend on
(seed, subject name) alone, subject selection and shards."""

import os
import re

import numpy as np
import pytest
from conftest import REPO

from blendmimic3d_addon.core.batch import plan, recipe, work
from blendmimic3d_addon.core.errors import DatasetError

EXAMPLE = REPO / "assets" / "recipes" / "example.toml"

BASE = """\
seed = 3
frames = 8

[subjects]
count = 4

[people]
count = [1, 3]

[cameras]
height = 0.2
heading = 10.0
"""


def _parse(text, tmp_path=None):
    return recipe.parse_recipe(text, "r.toml")


def _error(text):
    with pytest.raises(DatasetError) as caught:
        recipe.parse_recipe(text, "r.toml")
    return str(caught.value)


def _line_of(text, needle):
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_example_recipe_reads():
    r = recipe.read_recipe(EXAMPLE)
    assert r.subjects == tuple(f"S{i}" for i in range(10, 16))
    assert r.people == (1, 3) and r.takes == (1, 2)
    assert r.render["engine"] == "WORKBENCH"
    assert set(r.environments) == {"none", "CAPTURE_ROOM", "SHOP", "OUTDOORS"}
    assert r.lightings == ("default", "STUDIO") and r.appearance == {
        "vary": True,
        "same_look": False,
    }
    assert r.characters[0].actions == recipe.MANNEQUIN_ACTIONS


def test_defaults_fill_a_minimal_recipe():
    r = _parse("seed = 0\n[subjects]\ncount = 2\n")
    assert r.subjects == ("S1", "S2")
    assert r.frames == 30 and r.camera_preset == "BLENDMIMIC3D" and r.fit
    assert r.characters[0].kind == "mannequin" and r.scenarios == ("CAPTURE_ROOM",)


@pytest.mark.parametrize(
    ("change", "key", "reason"),
    [
        (("height = 0.2", "height = -1"), "cameras.height", "at least 0.0"),
        (("heading = 10.0", 'heading = "ten"'), "cameras.heading", "must be a number"),
        (("count = [1, 3]", "count = [3, 1]"), "people.count", "min above max"),
        (("count = [1, 3]", "count = [1, 99]"), "people.count", "at most 12"),
        (("count = [1, 3]", "count = [1, 2, 3]"), "people.count", "[min, max]"),
        (("frames = 8", "frames = 1"), "frames", "at least 2"),
        (("frames = 8", "frames = 8.5"), "frames", "whole number"),
        (("heading = 10.0", "heading = 10.0\nzoom = 2"), "cameras.zoom", "unknown key"),
        (("count = 4", "count = 0"), "subjects.count", "at least 1"),
    ],
)
def test_a_mistake_names_its_key_and_line(change, key, reason):
    text = BASE.replace(*change)
    message = _error(text)
    line = _line_of(text, change[1].splitlines()[-1])
    assert f"{key} (line {line})" in message, message
    assert reason in message
    assert message.startswith("r.toml: ")


def test_unknown_choices_and_reserved_keys_are_named():
    text = BASE + '\n[layout]\npresets = ["SIDE_BY_SIDE", "PYRAMID"]\n'
    message = _error(text)
    assert f"layout.presets (line {_line_of(text, 'PYRAMID')})" in message
    assert "'PYRAMID' is not one of SINGLE" in message
    text = 'environment = "forest"\n' + BASE
    assert "environment (line 1): 'forest' is not one of none, CAPTURE_ROOM" in _error(text)
    text = 'lighting = ["STUDIO", "STUDIO"]\n' + BASE
    assert "lighting (line 1): lists a value twice" in _error(text)
    text = BASE + "\n[appearance]\nvary = 1\n"
    line = _line_of(text, "vary = 1")
    assert f"appearance.vary (line {line}): must be true or false" in _error(text)
    text = BASE + '\n[render]\nengine = "OPTIX"\n'
    line = _line_of(text, "OPTIX")
    message = _error(text)
    assert f"render.engine (line {line}): 'OPTIX' is not one of WORKBENCH, EEVEE" in message
    text = "lights = 3\n" + BASE
    assert "lights (line 1): unknown key" in _error(text)


def test_character_mistakes_name_the_array_item():
    text = BASE + '\n[[characters]]\nkind = "mannequin"\n\n[[characters]]\nkind = "fbx"\n'
    text += 'path = "nowhere/beta.fbx"\n'
    message = _error(text)
    assert f"characters.1.path (line {_line_of(text, 'nowhere')}): no such file or" in message
    text = BASE + '\n[[characters]]\nactions = ["Walk", "Dance"]\n'
    assert f"characters.0.actions (line {_line_of(text, 'Dance')}): 'Dance'" in _error(text)


def test_syntax_errors_and_bad_files_are_named(tmp_path):
    message = _error("seed = \n")
    assert message.startswith("r.toml: not valid TOML") and "line 1" in message
    assert "seed: missing" in _error("[subjects]\ncount = 1\n")
    assert "give either names or prefix/first/count" in _error(
        'seed = 1\n[subjects]\nnames = ["A"]\ncount = 2\n'
    )
    assert "a subject name appears twice" in _error('seed = 1\n[subjects]\nnames = ["A", "A"]\n')
    assert "'../x'" in _error('seed = 1\n[subjects]\nnames = ["../x"]\n')
    with pytest.raises(DatasetError, match="no such recipe file"):
        recipe.read_recipe(tmp_path / "missing.toml")
    (tmp_path / "folder.toml").mkdir()
    with pytest.raises(DatasetError, match="no such recipe file"):
        recipe.read_recipe(tmp_path / "folder.toml")
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * (recipe.MAX_RECIPE_BYTES + 10))
    with pytest.raises(DatasetError, match="larger than"):
        recipe.read_recipe(big)
    latin = tmp_path / "latin.toml"
    latin.write_bytes("seed = 1 # caf\xe9\n".encode("latin-1"))
    with pytest.raises(DatasetError, match="not UTF-8"):
        recipe.read_recipe(latin)


def test_fbx_paths_are_relative_to_the_recipe(tmp_path):
    (tmp_path / "chars").mkdir()
    (tmp_path / "chars" / "a.fbx").write_bytes(b"x")
    path = tmp_path / "r.toml"
    path.write_text(BASE + '\n[[characters]]\nkind = "fbx"\npath = "chars/a.fbx"\n')
    r = recipe.read_recipe(path)
    assert r.characters[0].paths == (os.path.join(tmp_path, "chars", "a.fbx"),)


def test_an_fbx_folder_is_a_pool_of_characters(tmp_path):
    (tmp_path / "chars").mkdir()
    for name in ("b.fbx", "a.FBX", "notes.txt"):
        (tmp_path / "chars" / name).write_bytes(b"x")
    path = tmp_path / "r.toml"
    path.write_text(BASE.replace("count = 4", "count = 30") + '[[characters]]\nkind = "fbx"\n'
                    'path = "chars"\n')  # fmt: skip
    r = recipe.read_recipe(path)
    assert r.characters[0].paths == tuple(str(tmp_path / "chars" / n) for n in ("a.FBX", "b.fbx"))
    variants = {p.variant for name in r.subjects for p in plan.draw_plan(r, name).people}
    assert variants == {0, 1}
    (tmp_path / "empty").mkdir()
    path.write_text(BASE + '[[characters]]\nkind = "fbx"\npath = "empty"\n')
    with pytest.raises(DatasetError, match=r"characters.0.path \(line 15\): no .fbx file"):
        recipe.read_recipe(path)


def test_a_plan_depends_on_seed_and_name_alone():
    r = _parse(BASE.replace("count = 4", "count = 40"))
    plans = {name: plan.draw_plan(r, name) for name in r.subjects}
    # Same name, same plan, whatever else was drawn before or which recipe subset holds it.
    assert plan.draw_plan(r, "S17") == plans["S17"]
    fewer = _parse(BASE)
    assert plan.draw_plan(fewer, "S3") == plans["S3"]
    # The subjects differ from each other, and from another seed's.
    assert len({p.seed for p in plans.values()}) == 40
    counts = {len(p.people) for p in plans.values()}
    assert counts == {1, 2, 3}
    headings = np.array([c.heading for p in plans.values() for c in p.cameras])
    assert headings.min() >= -10.0 and headings.max() <= 10.0 and headings.std() > 3.0
    other = _parse(BASE.replace("seed = 3", "seed = 4"))
    assert plan.draw_plan(other, "S3") != plans["S3"]
    assert plan.subject_seed(3, "S3") == plan.subject_seed(3, "S3") != plan.subject_seed(3, "S4")


def test_plans_draw_within_the_recipe():
    text = BASE + (
        '\n[layout]\npresets = ["CIRCLE", "QUEUE"]\nspacing = [1.0, 1.5]\n'
        '[scene]\nscenarios = ["RETAIL_AISLE"]\noccluders = [1, 2]\n'
        'occluder_kinds = ["chair"]\n'
    )
    r = _parse(text.replace("count = 4", "count = 30"))
    for name in r.subjects:
        p = plan.draw_plan(r, name)
        assert p.layout in ({"CIRCLE", "QUEUE"} if len(p.people) > 1 else {"SINGLE"})
        assert 1.0 <= p.spacing <= 1.5 and p.scenario == "RETAIL_AISLE"
        assert 1 <= len(p.occluders) <= 2
        assert all(k == "chair" and 0 <= who < len(p.people) for k, who, _ in p.occluders)
        assert len(p.cameras) == 4 and 1 <= len(p.takes) <= 1
        assert p.people[0].start_offset == 0 and p.people[0].action == p.takes[0]


def test_environment_lighting_and_looks_are_drawn_per_subject():
    text = 'environment = ["none", "CAPTURE_ROOM", "SHOP", "OUTDOORS"]\n' + BASE.replace(
        "count = 4", "count = 40"
    )
    r = _parse(text)
    plans = [plan.draw_plan(r, name) for name in r.subjects]
    assert {p.environment for p in plans} == set(r.environments)
    assert {p.lighting for p in plans} == {"default"}
    assert len({p.looks_seed for p in plans}) == len(plans)
    # the new draws come after the older ones: adding a pool leaves the rest of a plan alone
    before = plan.draw_plan(_parse(BASE), "S1")
    after = plan.draw_plan(_parse('environment = ["none", "SHOP"]\n' + BASE), "S1")
    assert before.people == after.people and before.cameras == after.cameras


def test_subject_selection_and_shards():
    r = _parse(
        BASE.replace("[subjects]\ncount = 4", '[subjects]\nprefix = "S"\nfirst = 8\ncount = 5')
    )
    assert recipe.select_subjects(r, "") == ["S8", "S9", "S10", "S11", "S12"]
    assert recipe.select_subjects(r, "S9-S11") == ["S9", "S10", "S11"]
    assert recipe.select_subjects(r, "S12,S8") == ["S8", "S12"]
    for spec, reason in (
        ("S1-S9", "no subject 'S1'"),
        ("S11-S9", "comes after"),
        (",", "names no"),
    ):
        with pytest.raises(DatasetError, match=reason):
            recipe.select_subjects(r, spec)
    names = recipe.select_subjects(r, "")
    parts = [recipe.shard_subjects(names, (k, 3)) for k in (1, 2, 3)]
    assert sorted(sum(parts, [])) == sorted(names) and [len(p) for p in parts] == [2, 2, 1]


def test_finish_refuses_incomplete_subjects(tmp_path):
    with pytest.raises(DatasetError, match=re.escape("2 of 2 not complete, for instance S1")):
        work.finish(str(tmp_path), ["S1", "S2"])
    assert not (tmp_path / "dataset" / "dataset.json").exists()
