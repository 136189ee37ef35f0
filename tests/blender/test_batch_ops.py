"""The Batch panel's operators through bpy.ops: preview a subject into a new scene, generate
locally in a background process, cancel it half-way; error paths change nothing."""

import importlib
import os
import time

import pytest
from conftest import DEV_REPO_MODULE, EXTENSION_ID
from test_batch import TINY


def _module(name):
    return importlib.import_module(f"bl_ext.{DEV_REPO_MODULE}.{EXTENSION_ID}.{name}")


@pytest.fixture
def recipe(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


def _state():
    import bpy

    names = ("scenes", "objects", "meshes", "actions", "cameras", "armatures")
    return {name: len(getattr(bpy.data, name)) for name in names}


def test_preview_builds_the_subject_in_a_new_scene(clean_scene, recipe):
    import bpy

    plan_core = _module("core.batch.plan")
    recipe_core = _module("core.batch.recipe")
    scene_model = _module("blender.scene_model")
    plan = plan_core.draw_plan(recipe_core.read_recipe(recipe), "S2")
    result = bpy.ops.blendmimic3d.batch_preview(recipe=str(recipe), subject_index=1)
    assert result == {"FINISHED"}
    preview = bpy.data.scenes["Preview S2"]
    assert len(scene_model.people(preview)) == len(plan.people)
    assert len(scene_model.dataset_cameras(preview)) == 4
    assert len(scene_model.occluders(preview)) >= len(plan.occluders)
    assert not scene_model.people(clean_scene) and not clean_scene.objects  # the user's scene


def test_preview_errors_are_named_and_change_nothing(clean_scene, recipe, tmp_path):
    import bpy

    before = _state()
    with pytest.raises(RuntimeError, match="there is no number 7; the recipe has 3 subjects"):
        bpy.ops.blendmimic3d.batch_preview(recipe=str(recipe), subject_index=7)
    bad = tmp_path / "bad.toml"
    bad.write_text(TINY.replace("frames = 4", "frames = 'four'"))
    with pytest.raises(RuntimeError, match=r"frames \(line 2\): must be a whole number"):
        bpy.ops.blendmimic3d.batch_preview(recipe=str(bad), subject_index=0)
    (tmp_path / "fake.fbx").write_bytes(b"no")
    fbx = tmp_path / "fbx.toml"
    fbx.write_text(TINY + '[[characters]]\nkind = "fbx"\npath = "fake.fbx"\n')
    with pytest.raises(RuntimeError, match="not an FBX file"):
        bpy.ops.blendmimic3d.batch_preview(recipe=str(fbx), subject_index=0)
    assert _state() == before and bpy.context.window.scene == clean_scene


def test_generate_locally_makes_the_subjects(clean_scene, recipe, tmp_path):
    import bpy

    out = tmp_path / "out"
    result = bpy.ops.blendmimic3d.batch_generate(recipe=str(recipe), directory=str(out),
                                                 subjects="S1-S2")  # fmt: skip
    assert result == {"FINISHED"}
    assert sorted(os.listdir(out / "scenes")) == ["S1.blend", "S1.json", "S2.blend", "S2.json"]
    assert not (out / "scenes" / "S3.json").exists() and not clean_scene.objects


def test_generate_errors_are_named_and_write_nothing(clean_scene, recipe, tmp_path):
    import bpy

    with pytest.raises(RuntimeError, match="choose the output folder"):
        bpy.ops.blendmimic3d.batch_generate(recipe=str(recipe), directory="")
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="the recipe has no subject 'S9'"):
        bpy.ops.blendmimic3d.batch_generate(recipe=str(recipe), directory=str(out), subjects="S9")
    with pytest.raises(RuntimeError, match="choose a recipe file"):
        bpy.ops.blendmimic3d.batch_generate(recipe="", directory=str(out))
    assert not out.exists()


def test_a_local_run_cancelled_half_way_leaves_nothing_half_written(addon, recipe, tmp_path):
    batch_ops = _module("blender.batch_ops")
    out = tmp_path / "out"
    run = batch_ops.LocalRun(str(recipe), str(out), "S3")
    deadline = time.monotonic() + 300
    while "export" not in run.status:  # the child has built S3 and is exporting it
        assert run.poll() is None and time.monotonic() < deadline, run.tail
        time.sleep(0.05)
    run.cancel()
    assert run.complete() == []
    assert not (out / "dataset" / "S3").exists() and not (out / "scenes" / "S3.blend").exists()
    again = batch_ops.LocalRun(str(recipe), str(out), "S3")
    assert again.wait() == 0, again.tail
    assert again.complete() == ["S3"] and not (out / ".work").exists()


def _mixamo_recipe(tmp_path, fbx):
    """Two people each, drawn from an FBX character (mostly) and the mannequin; the index and
    plan of a subject with an FBX person."""
    path = tmp_path / "mixamo.toml"
    text = TINY.replace("count = [1, 2]", "count = 2").replace(
        "scale = 4", "scale = 4\nvideos = false"
    )
    text += f'[[characters]]\nkind = "fbx"\npath = "{fbx}"\nweight = 3.0\n'
    path.write_text(text + '[[characters]]\nkind = "mannequin"\n')
    recipe = _module("core.batch.recipe").read_recipe(path)
    draw = _module("core.batch.plan").draw_plan
    index, plan = next(
        (i, p)
        for i, p in ((i, draw(recipe, n)) for i, n in enumerate(recipe.subjects))
        if any(person.character == 0 for person in p.people)
    )
    return path, recipe, index, plan


def test_generate_with_mixamo_characters(clean_scene, shared, tmp_path):
    """An FBX character and the mannequin in one subject: the character is imported skinned, its
    take cut to the recipe's frames, and the subject exported and validated."""
    import bpy

    path, recipe, index, plan = _mixamo_recipe(tmp_path, shared("mixamo", "mixamo_beta.fbx"))
    scene_model = _module("blender.scene_model")
    batch = _module("blender.batch")
    out = tmp_path / "out"
    batch.Generator(recipe, out, [plan.name]).run()
    bpy.ops.wm.open_mainfile(filepath=str(out / "scenes" / f"{plan.name}.blend"))
    scene = bpy.context.scene
    arms = scene_model.people(scene)
    fbx_people = [a for a, p in zip(arms, plan.people, strict=True) if p.character == 0]
    assert len(arms) == 2 and fbx_people
    assert all(scene_model.body_meshes(a, scene) for a in fbx_people)
    validate = _module("core.validate.dataset")
    work = _module("core.batch.work")
    work.finish(str(out), [plan.name])
    report = validate.validate_dataset(out / "dataset")
    assert report.ok, report.problems
    actions, frames, cameras = (int(part.split()[0]) for part in
                                report.subjects[plan.name].split(", "))  # fmt: skip
    assert frames == 4 * actions and cameras == 4


def test_preview_of_mixamo_characters(clean_scene, shared, tmp_path):
    import bpy

    path, _recipe, index, plan = _mixamo_recipe(tmp_path, shared("mixamo", "mixamo_beta.fbx"))
    scene_model = _module("blender.scene_model")
    takes = _module("blender.takes")
    result = bpy.ops.blendmimic3d.batch_preview(recipe=str(path), subject_index=index)
    assert result == {"FINISHED"}
    scene = bpy.data.scenes[f"Preview {plan.name}"]
    assert bpy.context.window.scene == scene  # shown
    arms = scene_model.people(scene)
    assert len(arms) == 2 and len(scene_model.dataset_cameras(scene)) == 4
    assert all(scene_model.body_meshes(a, scene) for a, p in zip(arms, plan.people, strict=True)
               if p.character == 0)  # fmt: skip
    for arm in arms:
        start, end = takes.take_range(arm)
        assert end - start + 1 <= 4


def test_preview_without_a_window(clean_scene, shared, tmp_path, recipe):
    """Without a window the preview is built through a context override of the new scene;
    the FBX importer cannot work there, which is said before anything is built."""
    import bpy

    scene_model = _module("blender.scene_model")
    with bpy.context.temp_override(window=None):
        assert bpy.ops.blendmimic3d.batch_preview(recipe=str(recipe), subject_index=0) == {
            "FINISHED"
        }
    assert scene_model.people(bpy.data.scenes["Preview S1"]) and not clean_scene.objects
    path, _recipe, index, _plan = _mixamo_recipe(tmp_path, shared("mixamo", "mixamo_beta.fbx"))
    before = _state()
    with (
        bpy.context.temp_override(window=None),
        pytest.raises(
            RuntimeError, match="FBX characters are built in a Blender window or by generate"
        ),
    ):
        bpy.ops.blendmimic3d.batch_preview(recipe=str(path), subject_index=index)
    assert _state() == before
