"""validate: passes on the published data and on an export; lists every problem otherwise."""

import os
import shutil

import numpy as np
import pytest

from blendmimic3d_addon.core.format import dataset_io as dio
from blendmimic3d_addon.core.format import manifest as mf
from blendmimic3d_addon.core.format.safe_npz import read_npz, write_npz
from blendmimic3d_addon.core.geometry import camera as cam
from blendmimic3d_addon.core.occlusion.labels import OcclusionType
from blendmimic3d_addon.core.validate.dataset import validate_dataset

ACTIONS = {"Walk": 40, "Talk": 25}


def make_dataset(root, subjects=("S1",), persons=2):
    """A small export as the exporter writes it: legacy files, additions and dataset.json."""
    from test_dataset_io import _blender_cameras

    rng = np.random.default_rng(6)
    listed = {}
    for subject in subjects:
        subject_dir = os.path.join(root, subject)
        cameras = _blender_cameras()
        dio.write_cameras(subject_dir, subject, cameras)
        actions = {}
        for action, frames in ACTIONS.items():
            poses = rng.normal(scale=0.3, size=(persons, frames, 17, 3)) + [0, 0, 1]
            poses[:, :3, 0] = [0, 7, 1]  # out of frame for Camera_1, behind Camera_2
            uv = cam.project(poses, cameras.P)
            types = _geometric_types(poses, cameras, rng)
            names = [f"Person{i}" for i in range(persons)]
            people = dio.Persons(names, poses, list(uv), list(types))
            dio.write_action(subject_dir, action, poses[0], list(uv[:, 0]),
                             types_by_cam=list(types[:, 0]), persons=people)  # fmt: skip
            actions[action] = mf.action_entry(1, frames, names)
        entries = [
            mf.camera_entry(n, K, RT, *res)
            for n, K, RT, res in zip(cameras.names, cameras.K, cameras.RT, cameras.res, strict=True)
        ]
        listed[subject] = {"cameras": entries, "actions": actions}
    mf.write_manifest(root, mf.build_manifest(listed, fps=30, generator_version="0.1.0"))
    return root


def _geometric_types(poses, cameras, rng):
    """Random hidden/visible codes where a joint is seen, and the geometric codes (out of
    frame, behind the camera) where the camera geometry says so, as the exporter labels."""
    types = rng.integers(0, 4, size=(len(cameras), *poses.shape[:-1])).astype(np.uint8)
    depth = cam.camera_depth(poses, cameras.RT)
    inside = cam.in_image(cam.project(poses, cameras.P), 1000, 1002)
    types[(depth > 0) & ~inside] = OcclusionType.OUT_OF_FRAME
    types[depth <= 0] = OcclusionType.BEHIND_CAMERA
    return types


@pytest.mark.parametrize("subject", ["S1", "S2"])
def test_published_subjects_pass(shared, subject):
    report = validate_dataset(shared("blendmimic3d", subject))
    assert report.problems == []
    frames = {"S1": "18,705", "S2": "15,311"}[subject]
    assert report.subjects[subject] == f"14 actions, {frames} frames, 4 cameras"


def test_published_root_passes(shared):
    report = validate_dataset(shared("blendmimic3d"))
    assert report.ok and list(report.subjects) == ["S1", "S2"]


def test_export_with_additions_passes(tmp_path):
    report = validate_dataset(make_dataset(tmp_path / "data", subjects=("S1", "S2")))
    assert report.problems == []
    assert report.subjects["S2"] == "2 actions, 65 frames, 4 cameras"


def _edit_npz(path, key, change):
    arrays = read_npz(path, pickled=("intrinsic_params", "extrinsic_params"))
    arrays[key] = change(arrays[key].copy())
    write_npz(path, arrays, compressed=True)


def test_every_problem_is_listed_with_file_and_reason(tmp_path):
    root = make_dataset(tmp_path / "data")
    s1 = os.path.join(root, "S1")

    def bump_p(P):
        P[1, 0, 0] += 1.0
        return P

    _edit_npz(dio.matrices_path(s1, "S1"), "P", bump_p)

    def shift(uv):
        uv[5, 3, 0] += 0.5
        return uv

    _edit_npz(dio.positions_2d_path(s1, "Walk"), "Cam_2", shift)
    _edit_npz(dio.occlusions_path(s1, "Talk"), "Cam_3", lambda labels: labels[:-1])

    def half(labels):
        labels[0, 0] = 0.5
        return labels

    _edit_npz(dio.occlusions_path(s1, "Walk"), "Cam_0", half)
    os.remove(dio.data3d_txt_path(s1, "Talk"))
    open(os.path.join(s1, "D3_Positions", "Walk", "notes.txt"), "w").write("hi")
    open(os.path.join(s1, "Occlusions", "Talk", ".occluded_kpt.npz.x1.part"), "w").write("")
    data = open(dio.positions_3d_path(s1, "Talk"), "rb").read()
    open(dio.positions_3d_path(s1, "Talk"), "wb").write(data[:100])

    problems = validate_dataset(root).problems
    projection = "2D differs from the projection of 3D"
    leftover = ".occluded_kpt.npz.x1.part"
    expected = [
        (dio.matrices_path(s1, "S1"), "P: P differs from K @ RT"),
        (dio.camview_path(s1, 1), "differs from P[1]"),
        (dio.positions_2d_path(s1, "Walk"), f"Cam_2: {projection} by up to 0.5 px"),
        (dio.occlusions_path(s1, "Walk"), "Cam_0: label 0.5 at (0, 0); only 0/1 belong"),
        (dio.data3d_txt_path(s1, "Talk"), "required file is missing"),
        (os.path.join(s1, "D3_Positions", "Walk", "notes.txt"), "unexpected file"),
        (os.path.join(s1, "Occlusions", "Talk", leftover), "leftover of an interrupted write"),
        (dio.positions_3d_path(s1, "Talk"), "not a readable .npz archive"),
    ]  # fmt: skip
    for path, reason in expected:
        assert any(p.startswith(f"{path}: {reason}") for p in problems), (path, reason, problems)


def test_counts_quaternion_and_manifest_checks(tmp_path):
    root = make_dataset(tmp_path / "data")
    s1 = os.path.join(root, "S1")
    _edit_npz(dio.occlusions_path(s1, "Talk"), "Cam_3", lambda labels: labels[:-1])

    def turn(extrinsic):
        extrinsic[()]["S1"][2]["orientation"] = [1.0, 0.0, 0.0, 0.0]
        return extrinsic

    _edit_npz(dio.camera_params_path(s1, "S1"), "extrinsic_params", turn)
    types = dio.read_occlusion_types(s1, "Walk")[1]
    frame, joint = np.argwhere(types == 0)[0]

    def hide(labels):
        labels[frame, joint] = 0.0  # valid 0/1, but the typed code says visible
        return labels

    _edit_npz(dio.occlusions_path(s1, "Walk"), "Cam_1", hide)
    manifest = mf.read_manifest(root)
    manifest["subjects"]["S1"]["actions"]["Walk"]["n_frames"] = 41
    manifest["subjects"]["S1"]["actions"]["Gone"] = mf.action_entry(1, 5, ["A"])
    mf.write_manifest(root, manifest)
    problems = validate_dataset(root).problems
    manifest_path = os.path.join(root, "dataset.json")
    assert f"{dio.occlusions_path(s1, 'Talk')}: Cam_3: 24 frames where 3D has 25" in problems
    assert (
        f"{dio.camera_params_path(s1, 'S1')}: extrinsic_params.S1[2].orientation: "
        "quaternion does not match RT's rotation"
    ) in problems
    assert any(p.startswith(f"{manifest_path}: subjects.S1.actions.Walk") for p in problems)
    types_path = dio.occlusion_types_path(s1, "Walk")
    assert f"{types_path}: Cam_1: disagrees with occluded_kpt.npz" in problems
    assert (
        f"{dio.positions_3d_path(s1, 'Gone')}: action listed in dataset.json is missing" in problems
    )


def _cli(*args):
    from conftest import run_module

    return run_module(*args)


def test_command_line_passes_on_published(shared):
    for subject in ("S1", "S2"):
        result = _cli("validate", str(shared("blendmimic3d", subject)))
        assert result.returncode == 0, result.stdout + result.stderr
        assert "OK:" in result.stdout


def test_command_line_fails_on_broken_copy(shared, tmp_path):
    copy = tmp_path / "S1"
    shutil.copytree(shared("blendmimic3d", "S1"), copy)
    os.chmod(copy / "Occlusions" / "Phone", 0o755)
    os.chmod(copy / "Occlusions" / "Phone" / "occluded_kpt.npz", 0o644)
    os.remove(copy / "Occlusions" / "Phone" / "occluded_kpt.npz")
    result = _cli("validate", str(copy))
    assert result.returncode == 1
    assert f"problem: {copy}/Occlusions/Phone/occluded_kpt.npz: file is missing" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    missing = _cli("validate", str(tmp_path / "nowhere"))
    assert missing.returncode == 1 and "not a folder" in missing.stdout


def test_subject_without_cameras(tmp_path):
    root = make_dataset(tmp_path / "data")
    shutil.rmtree(os.path.join(root, "S1", "Cameras"))
    problems = validate_dataset(root).problems
    assert f"{dio.matrices_path(os.path.join(root, 'S1'), 'S1')}: file is missing" in problems


def test_export_requires_typed_labels(tmp_path):
    root = make_dataset(tmp_path / "data")
    s1 = os.path.join(root, "S1")
    os.remove(dio.occlusion_types_path(s1, "Talk"))
    problems = validate_dataset(root).problems
    assert problems == [f"{dio.occlusion_types_path(s1, 'Talk')}: required file is missing"]
    # A published-style folder (no dataset.json) may lack them.
    os.remove(os.path.join(root, "dataset.json"))
    assert validate_dataset(root).problems == []


def test_geometric_codes_checked(tmp_path):
    root = make_dataset(tmp_path / "data")
    s1 = os.path.join(root, "S1")
    types = dio.read_occlusion_types(s1, "Walk")
    assert (types[1][:3, 0] == OcclusionType.OUT_OF_FRAME).all()
    assert (types[2][:3, 0] == OcclusionType.BEHIND_CAMERA).all()
    frame, joint = np.argwhere(types[2] == OcclusionType.VISIBLE)[0]

    def claim_out_of_frame(codes):
        codes[frame, joint] = OcclusionType.OUT_OF_FRAME
        return codes

    _edit_npz(dio.occlusion_types_path(s1, "Walk"), "Cam_2", claim_out_of_frame)

    def hide(labels):
        labels[frame, joint] = 0.0  # keep the legacy labels in step
        return labels

    _edit_npz(dio.occlusions_path(s1, "Walk"), "Cam_2", hide)
    problems = validate_dataset(root).problems
    path = dio.occlusion_types_path(s1, "Walk")
    assert any(
        p.startswith(f"{path}: Cam_2: 1 out_of_frame/behind_camera codes disagree")
        for p in problems
    ), problems


def test_videos_and_qa_videos_are_explained_other_names_are_not(shared, tmp_path):
    subject = tmp_path / "S1"
    shutil.copytree(shared("blendmimic3d", "S1"), subject)
    videos = subject / "Videos"
    videos.mkdir()
    for name in ("Greeting_0.mp4", "Greeting_3.qa.mp4", "Greeting_x.mp4", "Nope_1.mp4"):
        (videos / name).write_bytes(b"")
    problems = validate_dataset(tmp_path).problems
    flagged = {name for name in os.listdir(videos) if any(name in p for p in problems)}
    assert flagged == {"Greeting_x.mp4", "Nope_1.mp4"}
