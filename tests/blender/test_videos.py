"""render_videos in real Blender: one .mp4 per camera and action, read back as movie clips."""

import importlib
import os

import numpy as np
import pytest


@pytest.fixture
def videos(addon):
    return importlib.import_module(f"{addon}.blender.video_ops")


@pytest.fixture
def job(addon):
    return importlib.import_module(f"{addon}.blender.video_job")


@pytest.fixture
def frames_io(addon):
    return importlib.import_module(f"{addon}.blender.video_frames")


def _tag(obj, **tags):
    for key, value in tags.items():
        obj[key] = value


def _action(bpy, armature, name, frames):
    """An action moving the armature along x, in the person's library."""
    armature.animation_data_create()
    action = bpy.data.actions.new(name)
    armature.animation_data.action = action
    for frame in range(1, frames + 1):
        armature.location.x = 0.2 * frame
        armature.keyframe_insert("location", index=0, frame=frame)
    armature.animation_data.action = None
    armature["bm3d_actions"] = [*armature.get("bm3d_actions", []), name]
    return action


@pytest.fixture
def scene(clean_scene):
    """A tagged person (armature, box body) with actions Wave (3 frames) and Nod (2); 2 cameras."""
    import bpy

    scene = clean_scene
    arm = bpy.data.objects.new("Person", bpy.data.armatures.new("Rig"))
    scene.collection.objects.link(arm)
    _tag(arm, bm3d_role="person", bm3d_person_index=0)
    bpy.ops.mesh.primitive_cube_add(size=1.0, location=(0, 0, 0.5))
    body = bpy.context.active_object
    body.parent = arm
    _tag(body, bm3d_role="body")
    _action(bpy, arm, "Wave", 3)
    _action(bpy, arm, "Nod", 2)
    for index, x in enumerate((5.0, -5.0)):
        cam = bpy.data.objects.new(f"Camera_{index}", bpy.data.cameras.new(f"Camera_{index}"))
        scene.collection.objects.link(cam)
        cam.location = (x, -5.0, 2.0)
        direction = -cam.location.copy()
        cam.rotation_euler = direction.to_track_quat("-Z", "Y").to_euler()
        _tag(cam, bm3d_role="camera", bm3d_index=index)
    scene.render.resolution_x, scene.render.resolution_y = 64, 48
    scene.render.resolution_percentage = 100
    scene.render.fps = 30
    return scene


def _clip(bpy, path):
    clip = bpy.data.movieclips.load(path)
    try:
        return clip.frame_duration, tuple(clip.size), clip.fps
    finally:
        bpy.data.movieclips.remove(clip)


def _leftovers(folder):
    return [n for n in os.listdir(folder) if n.startswith(".")]


def test_one_video_per_camera_and_action(scene, videos, tmp_path):
    import bpy

    render = scene.render
    before = (render.engine, render.filepath, render.image_settings.file_format, scene.camera)
    scene.frame_set(7)
    result = bpy.ops.blendmimic3d.render_videos(directory=str(tmp_path), preset="PREVIEW")
    assert result == {"FINISHED"}
    names = sorted(os.listdir(tmp_path / "Videos"))
    assert names == ["Nod_0.mp4", "Nod_1.mp4", "Wave_0.mp4", "Wave_1.mp4"]
    assert _clip(bpy, str(tmp_path / "Videos" / "Wave_1.mp4")) == (3, (64, 48), 30)
    assert _clip(bpy, str(tmp_path / "Videos" / "Nod_0.mp4")) == (2, (64, 48), 30)
    assert _leftovers(tmp_path) == []
    after = (render.engine, render.filepath, render.image_settings.file_format, scene.camera)
    assert after == before
    assert scene.frame_current == 7
    assert bpy.data.objects["Person"].animation_data.action is None
    assert [s.name for s in bpy.data.scenes] == [scene.name]


def test_resolution_scale_and_odd_sizes_are_padded_even(scene, videos, tmp_path):
    import bpy

    scene.render.resolution_x, scene.render.resolution_y = 100, 82
    bpy.ops.blendmimic3d.render_videos(directory=str(tmp_path), scale=50)  # 50 x 41 rendered
    assert _clip(bpy, str(tmp_path / "Videos" / "Wave_0.mp4"))[:2] == (3, (50, 42))
    assert scene.render.resolution_percentage == 100


def _light(bpy, scene):
    """A sun and a grey world: what an unlit scene lacks for the lit presets."""
    sun = bpy.data.objects.new("Sun", bpy.data.lights.new("Sun", "SUN"))
    sun.data.energy = 3.0
    sun.rotation_euler = (0.6, 0.2, 0.4)
    scene.collection.objects.link(sun)
    _world(bpy, scene, 0.2)


def _world(bpy, scene, grey):
    """A plain world of one grey (its node tree's background too, where it has one)."""
    scene.world = bpy.data.worlds.new("World")
    scene.world.color = (grey, grey, grey)
    nodes = scene.world.node_tree.nodes if scene.world.node_tree else []
    for node in nodes:
        if node.type == "BACKGROUND":
            node.inputs["Color"].default_value = (grey, grey, grey, 1.0)


@pytest.mark.parametrize("preset", ["REALISTIC", "FAST"])
def test_lit_presets(scene, videos, tmp_path, preset):
    import bpy

    _light(bpy, scene)
    bpy.data.objects["Person"]["bm3d_actions"] = ["Nod"]
    scene.render.resolution_x, scene.render.resolution_y = 32, 24
    factory = (scene.render.engine, scene.cycles.samples, scene.cycles.use_denoising)
    result = bpy.ops.blendmimic3d.render_videos(directory=str(tmp_path), preset=preset, samples=2)
    assert result == {"FINISHED"}
    assert _clip(bpy, str(tmp_path / "Videos" / "Nod_1.mp4"))[:2] == (2, (32, 24))
    assert (scene.render.engine, scene.cycles.samples, scene.cycles.use_denoising) == factory


@pytest.mark.parametrize("preset", ["REALISTIC", "FAST"])
def test_unlit_scene_is_refused_before_rendering(scene, videos, tmp_path, preset):
    """The demo's old bug: Cycles (or EEVEE) with no light and no world renders black frames."""
    import bpy

    assert scene.world is None and not [o for o in scene.objects if o.type == "LIGHT"]
    with pytest.raises(RuntimeError, match="the scene has no light, no world and nothing that"):
        bpy.ops.blendmimic3d.render_videos(directory=str(tmp_path), preset=preset)
    assert os.listdir(tmp_path) == []
    emitter = bpy.data.materials.new("Glow")  # a lamp shade that emits counts as light
    if emitter.node_tree is None:  # Blender before 5.0 makes materials without nodes
        emitter.use_nodes = True
    emitter.node_tree.nodes["Principled BSDF"].inputs["Emission Strength"].default_value = 2.0
    bpy.data.objects["Cube"].data.materials.append(emitter)
    assert videos.render_presets.is_lit(scene)


@pytest.mark.parametrize("preset", ["REALISTIC", "FAST"])
def test_black_frames_are_an_error(scene, videos, tmp_path, preset):
    """A world that gives no light passes the check before rendering, but every frame comes out
    black: an error naming the video, and nothing is written."""
    import bpy

    bpy.data.objects["Person"]["bm3d_actions"] = ["Nod"]
    _world(bpy, scene, 0.0)
    with pytest.raises(RuntimeError, match=r"Nod_0.mp4: every frame is one colour \(0, 0, 0\)"):
        bpy.ops.blendmimic3d.render_videos(directory=str(tmp_path), preset=preset, samples=1)
    assert os.listdir(tmp_path) == []


def test_a_camera_that_sees_one_colour_is_an_error(scene, videos, tmp_path):
    """Preview (Workbench) needs no light, but a camera turned away from everything sees only the
    background."""
    import bpy

    bpy.data.objects["Person"]["bm3d_actions"] = ["Nod"]
    bpy.data.objects["Camera_1"].rotation_euler = (0.0, 0.0, 0.0)  # straight down, at nothing
    bpy.data.objects["Camera_1"].location.z = -3.0
    with pytest.raises(RuntimeError, match=r"Nod_1.mp4: every frame is one colour"):
        bpy.ops.blendmimic3d.render_videos(directory=str(tmp_path))
    assert os.listdir(tmp_path) == []


def test_realistic_denoises_where_the_build_can(scene, videos, tmp_path):
    """The bpy wheel has OpenImageDenoise; Debian's Blender 4.3 has not: there one note, shown
    once, and the render goes on without denoising."""
    import bpy

    presets = videos.render_presets
    has = presets.has_denoiser()
    assert presets.notes("REALISTIC") == ([] if has else [presets.NO_DENOISER])
    assert presets.notes("PREVIEW") == presets.notes("FAST") == []
    presets.apply(scene, "REALISTIC")
    assert scene.cycles.use_denoising == has and scene.cycles.use_adaptive_sampling
    assert scene.cycles.samples == presets.PRESETS["REALISTIC"].samples
    _light(bpy, scene)
    bpy.data.objects["Person"]["bm3d_actions"] = ["Nod"]
    scene.render.resolution_x, scene.render.resolution_y = 32, 24
    result = bpy.ops.blendmimic3d.render_videos(directory=str(tmp_path), preset="REALISTIC",
                                                samples=2, write_videos=False,
                                                image_sequence="PNG")  # fmt: skip
    assert result == {"FINISHED"}
    assert len(os.listdir(tmp_path / "Frames" / "Nod_0")) == 2


def test_frame_check_tells_flat_from_sparse(job):
    check = job.frame_check
    black = np.zeros((48, 64, 3), np.uint8)
    assert check.is_flat(black) and check.median_colour(black) == (0, 0, 0)
    noisy = black + np.random.default_rng(0).integers(0, 8, black.shape, dtype=np.uint8)
    assert check.is_flat(noisy)  # render noise and compression stay below the tolerance
    small = black.copy()
    small[20:22, 30:32] = 200  # a far person: 4 of 3072 pixels
    assert not check.is_flat(small)
    assert "no light or world" in check.flat_message((0, 0, 0))
    assert "one surface" in check.flat_message((128, 128, 128))


def test_image_sequences_beside_or_instead_of_videos(scene, videos, frames_io, tmp_path):
    import bpy

    bpy.data.objects["Person"]["bm3d_actions"] = ["Wave"]
    result = bpy.ops.blendmimic3d.render_videos(directory=str(tmp_path), image_sequence="PNG")
    assert result == {"FINISHED"}
    assert sorted(os.listdir(tmp_path / "Frames")) == ["Wave_0", "Wave_1"]
    frames = tmp_path / "Frames" / "Wave_1"
    assert sorted(os.listdir(frames)) == ["000000.png", "000001.png", "000002.png"]
    first, last = (frames_io.read_frame(str(frames / n)) for n in ("000000.png", "000002.png"))
    assert first.shape[:2] == (48, 64) and np.abs(first.astype(int) - last).max() > 50
    assert sorted(os.listdir(tmp_path / "Videos")) == ["Wave_0.mp4", "Wave_1.mp4"]
    (frames / "stale.png").write_bytes(b"old")  # a frames folder is replaced whole
    result = bpy.ops.blendmimic3d.render_videos(
        directory=str(tmp_path), image_sequence="JPEG", write_videos=False, overwrite=True
    )
    assert result == {"FINISHED"}
    assert sorted(os.listdir(frames)) == ["000000.jpg", "000001.jpg", "000002.jpg"]
    jpeg = frames_io.read_frame(str(frames / "000000.jpg"))
    assert np.abs(jpeg[..., :3].astype(int) - first[..., :3]).mean() < 4
    assert _leftovers(tmp_path) == []


def _write_dataset(io, directory, action, frames, uv_pixel, types, res=(128, 96)):
    """Cameras and one action where every joint of every frame sits on one pixel, with typed
    codes (an int) or only the legacy labels (None: all occluded)."""
    names = ["Camera_0", "Camera_1"]
    K = np.array([[100.0, 0, res[0] / 2], [0, 100.0, res[1] / 2], [0, 0, 1]])
    RT = np.hstack([np.eye(3), [[0], [0], [5]]])
    io.write_cameras(directory, directory.name, io.Cameras(names, [K, K], [RT, RT], [res, res]))
    uv = np.tile(np.asarray(uv_pixel, float), (frames, 17, 1))
    kwargs = {"occluded_by_cam": [np.zeros((frames, 17))] * 2}
    if types is not None:
        kwargs = {"types_by_cam": [np.full((frames, 17), types)] * 2}
    io.write_action(directory, action, np.zeros((frames, 17, 3)), [uv, uv], **kwargs)


def _decoded_frame(bpy, frames_io, path, out_png):
    """Frame 1 of a movie, decoded by Blender's sequencer, as a uint8 array (top row first)."""
    clip_scene = bpy.data.scenes.new("decode")
    try:
        editor = clip_scene.sequence_editor_create()
        strips = editor.strips if hasattr(editor, "strips") else editor.sequences
        strip = strips.new_movie("m", path, channel=1, frame_start=1, fit_method="ORIGINAL")
        width, height = strip.elements[0].orig_width, strip.elements[0].orig_height
        clip_scene.render.resolution_x, clip_scene.render.resolution_y = width, height
        clip_scene.view_settings.view_transform = "Standard"
        clip_scene.frame_start = clip_scene.frame_end = clip_scene.frame_current = 1
        frames_io.set_image_format(clip_scene.render.image_settings, "PNG")
        clip_scene.render.filepath = out_png
        bpy.ops.render.render(write_still=True, scene=clip_scene.name)
    finally:
        bpy.data.scenes.remove(clip_scene)
    return frames_io.read_frame(out_png).astype(int)


@pytest.fixture
def io(addon):
    return importlib.import_module(f"{addon}.core.format.dataset_io")


def test_qa_video_draws_keypoints_in_the_type_colour(scene, videos, frames_io, io, tmp_path, job):
    import bpy

    bpy.data.objects["Person"]["bm3d_actions"] = ["Wave"]
    scene.render.resolution_x, scene.render.resolution_y = 128, 96
    subject = tmp_path / "S9"
    _write_dataset(io, subject, "Wave", 3, (40.0, 30.0), int(job.qa_overlay.OcclusionType.OBJECT))
    result = bpy.ops.blendmimic3d.render_videos(directory=str(subject), qa_video=True, scale=50)
    assert result == {"FINISHED"}
    qa_path = subject / "Videos" / "Wave_0.qa.mp4"
    assert _clip(bpy, str(qa_path))[:2] == (3, (64, 48))
    qa = _decoded_frame(bpy, frames_io, str(qa_path), str(tmp_path / "qa.png"))
    plain_path = str(subject / "Videos" / "Wave_0.mp4")
    plain = _decoded_frame(bpy, frames_io, plain_path, str(tmp_path / "p.png"))
    red = np.array(job.qa_overlay.TYPE_COLOURS[job.qa_overlay.OcclusionType.OBJECT])
    # (40, 30) in the dataset's 128 x 96 pixels is (20, 15) at 50 %.
    assert np.abs(qa[15, 20, :3] - red).max() < 40
    assert np.abs(plain[15, 20, :3] - red).max() > 100
    far = (slice(30, 48), slice(40, 64))  # away from the dot: the same picture in both
    assert np.abs(qa[far][..., :3] - plain[far][..., :3]).mean() < 4


def test_qa_keypoints_legacy_typed_and_every_person(scene, videos, io, tmp_path, job):
    take = job.Take("Wave", "Wave", 1, 3)
    _write_dataset(io, tmp_path, "Wave", 3, (4.0, 3.0), None)
    uv, types = job.qa_keypoints(str(tmp_path), take, 1)
    assert uv.shape == (3, 1, 17, 2) and (uv == (4.0, 3.0)).all()
    assert (types == job.qa_overlay.UNTYPED_OCCLUDED).all()
    _write_dataset(io, tmp_path, "Wave", 3, (4.0, 3.0), 2)
    assert (job.qa_keypoints(str(tmp_path), take, 0)[1] == 2).all()
    uv2 = np.zeros((2, 3, 17, 2))
    uv2[1] = 7.0
    types2 = np.zeros((2, 3, 17), np.uint8)
    persons = io.Persons(["A", "B"], np.zeros((2, 3, 17, 3)), [uv2, uv2], [types2, types2])
    io.write_persons(str(tmp_path), "Wave", persons)
    uv, types = job.qa_keypoints(str(tmp_path), take, 1)
    assert uv.shape == (3, 2, 17, 2) and (uv[:, 1] == 7.0).all() and (types == 0).all()
    with pytest.raises(job.DatasetError, match="3 frames where the take has 4"):
        job.qa_keypoints(str(tmp_path), job.Take("Wave", "Wave", 1, 4), 0)


def _snapshot(folder):
    return {
        os.path.relpath(os.path.join(root, name), folder): open(
            os.path.join(root, name), "rb"
        ).read()
        for root, _dirs, files in os.walk(folder)
        for name in files
    }


def test_errors_name_the_problem_and_change_nothing(scene, videos, tmp_path):
    import bpy

    (tmp_path / "Videos").mkdir()
    (tmp_path / "Videos" / "Wave_0.mp4").write_bytes(b"older video")
    before = _snapshot(tmp_path)
    engine = scene.render.engine
    cases = [
        ({"directory": ""}, "choose the dataset folder"),
        ({"directory": str(tmp_path / "absent")}, "absent: folder does not exist"),
        ({"directory": str(tmp_path)}, r"Wave_0.mp4: already exists; allow overwrite"),
        (
            {"directory": str(tmp_path), "overwrite": True, "qa_video": True},
            r"Cameras/matrices_\w+\.npz: file is missing",
        ),
        ({"directory": str(tmp_path), "write_videos": False}, "choose videos, QA videos or image"),
    ]
    for kwargs, message in cases:
        with pytest.raises(RuntimeError, match=message):
            bpy.ops.blendmimic3d.render_videos(**kwargs)
        assert _snapshot(tmp_path) == before
    assert scene.render.engine == engine


def test_scene_without_cameras_or_actions(scene, videos, tmp_path):
    import bpy

    bpy.data.objects["Person"]["bm3d_actions"] = []
    with pytest.raises(RuntimeError, match="no person in the scene has an action"):
        bpy.ops.blendmimic3d.render_videos(directory=str(tmp_path))
    for cam in [o for o in scene.objects if o.type == "CAMERA"]:
        bpy.data.objects.remove(cam)
    with pytest.raises(RuntimeError, match="no dataset cameras"):
        bpy.ops.blendmimic3d.render_videos(directory=str(tmp_path))
    assert os.listdir(tmp_path) == []


def test_cancel_half_way_leaves_videos_as_they_were(scene, videos, tmp_path, job):
    (tmp_path / "Videos").mkdir()
    (tmp_path / "Videos" / "Wave_0.mp4").write_bytes(b"older video")
    before = _snapshot(tmp_path)
    plan = job.plan_videos(scene, _Settings(directory=str(tmp_path), overwrite=True))
    steps = job.render_steps(scene, plan)
    for _ in range(5):  # half-way through the takes: nothing encoded into Videos/ yet
        next(steps)
    assert _leftovers(tmp_path), "the staging folder should exist while rendering"
    steps.close()  # what Esc does
    assert _snapshot(tmp_path) == before
    assert _leftovers(tmp_path) == []
    assert scene.render.image_settings.file_format == "PNG"  # the factory default, restored
    assert scene.camera is None


class _Settings:
    """The operator's settings, for driving the render steps directly as the modal operator does."""

    def __init__(self, **values):
        self.directory = ""
        self.preset = "PREVIEW"
        self.samples = 1
        self.write_videos = True
        self.image_sequence = "NONE"
        self.scale = 100
        self.qa_video = False
        self.overwrite = False
        self.__dict__.update(values)


def test_panel_and_settings_registered(scene, videos):
    import bpy

    panel = bpy.types.Panel.bl_rna_get_subclass_py("BM3D_PT_videos")
    assert panel.bl_parent_id == "BM3D_PT_main" and panel.bl_order == 55
    assert scene.bm3d_videos.preset == "PREVIEW"
    assert hasattr(bpy.ops.blendmimic3d, "render_videos")


def _render_still(bpy, scene, frames_io, camera, frame, scale, path):
    """What ``camera`` sees at ``frame``, rendered here directly (Workbench, RGB PNG)."""
    scene.camera = camera
    scene.frame_set(frame)
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.render.resolution_percentage = scale
    frames_io.set_image_format(scene.render.image_settings, "PNG")
    scene.render.image_settings.color_mode = "RGB"
    scene.render.filepath = path
    bpy.ops.render.render(write_still=True)
    scene.render.resolution_percentage = 100
    return frames_io.read_frame(path).astype(int)


def test_videos_follow_the_exported_cameras_and_actions(clean_scene, videos, frames_io, tmp_path):
    """A real export of a subset (cameras 1 and 3, one action cut to 3 frames): the videos are
    named by the dataset's camera numbers and show what those scene cameras see."""
    import bpy

    scene = clean_scene
    bpy.ops.blendmimic3d.add_mannequin(action="Walk")
    bpy.ops.blendmimic3d.rig_cameras(preset="BLENDMIMIC3D", fit=False)
    walk = bpy.data.actions["Walk"]
    walk.use_frame_range = True
    walk.frame_start, walk.frame_end = 1, 3
    bpy.ops.blendmimic3d.export_dataset(
        directory=str(tmp_path / "data"), subject="S1", actions="Walk", cameras="1,3"
    )
    subject = tmp_path / "data" / "S1"
    result = bpy.ops.blendmimic3d.render_videos(directory=str(subject), qa_video=True, scale=10)
    assert result == {"FINISHED"}
    names = sorted(os.listdir(subject / "Videos"))
    assert names == ["Walk_0.mp4", "Walk_0.qa.mp4", "Walk_1.mp4", "Walk_1.qa.mp4"]
    assert _clip(bpy, str(subject / "Videos" / "Walk_1.qa.mp4"))[:2] == (3, (100, 100))
    video = _decoded_frame(
        bpy, frames_io, str(subject / "Videos" / "Walk_0.mp4"), str(tmp_path / "v.png")
    )
    cameras = {c.name: c for c in scene.objects if c.type == "CAMERA"}
    wanted = _render_still(
        bpy, scene, frames_io, cameras["Camera_1"], 1, 10, str(tmp_path / "1.png")
    )
    other = _render_still(
        bpy, scene, frames_io, cameras["Camera_3"], 1, 10, str(tmp_path / "3.png")
    )
    # Compare where either camera sees something (the background is the same black in both).
    seen = (wanted[..., :3].sum(-1) > 30) | (other[..., :3].sum(-1) > 30)
    assert seen.sum() > 100
    error = np.abs(video - wanted)[seen].mean()
    assert error < 15  # H.264 at 100 x 100 blurs edges (about 7 seen)
    assert np.abs(video - other)[seen].mean() > 3 * error  # about 42 seen
    validate = importlib.import_module(
        f"{videos.__package__.rpartition('.')[0]}.core.validate.dataset"
    )
    report = validate.validate_dataset(tmp_path / "data")
    assert report.ok, report.problems


def test_videos_play_each_person_as_the_export_does(clean_scene, job):
    """In the Walk take the primary walks and person 1 keeps its own take (Wave, offset 7), as
    the exported keypoints have it; every take is put back afterwards."""
    import bpy

    people = importlib.import_module(job.__name__.rpartition(".")[0] + ".takes")
    bpy.ops.blendmimic3d.add_mannequin(action="Wave")
    bpy.ops.blendmimic3d.add_mannequin(action="Wave")
    primary, other = sorted(
        (o for o in clean_scene.objects if o.get("bm3d_role") == "person"),
        key=lambda o: o["bm3d_person_index"],
    )
    people.set_take(other, bpy.data.actions["Wave"], 7)
    walk = next(t for t in job.scene_takes(clean_scene) if t.action == "Walk")
    with job.applied_take(clean_scene, walk):
        assert people.take(primary)[0].name == "Walk"
        assert people.take(other) == (bpy.data.actions["Wave"], 7)
    assert people.take(primary) == (bpy.data.actions["Wave"], 0)
    assert people.take(other) == (bpy.data.actions["Wave"], 7)
