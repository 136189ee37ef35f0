"""Export through bpy.ops: nothing lost, nothing escapes (issue 11, items 2, 3, 9)."""

import os
import stat

import pytest
from test_export import _export, _tree, _validate, build_scene


@pytest.fixture
def scene(addon):
    return build_scene(people=1)


@pytest.mark.parametrize("manifest", ['{"name": "my other project"}\n', "{broken", ""])
def test_overwrite_into_a_root_with_a_foreign_manifest_keeps_the_older_dataset(
    scene, tmp_path, manifest
):
    assert _export(tmp_path, subject="S1", cameras="0") == {"FINISHED"}
    (tmp_path / "dataset.json").write_text(manifest)
    before = _tree(tmp_path)
    with pytest.raises(RuntimeError, match=r"dataset.json: "):
        _export(tmp_path, subject="S1", cameras="0,1", overwrite=True)
    assert _tree(tmp_path) == before
    assert sorted(os.listdir(tmp_path)) == ["S1", "dataset.json"]  # no staging left over


@pytest.mark.parametrize("subject", ["S1\n", "../S1", "S1/x", "."])
def test_a_subject_name_must_match_whole(scene, tmp_path, subject):
    with pytest.raises(RuntimeError, match=r"subject: .*: use letters, digits, _ or -"):
        _export(tmp_path / "D", subject=subject)
    assert not (tmp_path / "D").exists()
    assert os.listdir(tmp_path) == []


def test_exported_files_and_folders_honour_the_umask(scene, tmp_path):
    old = os.umask(0o022)
    try:
        assert _export(tmp_path / "D", subject="S1", cameras="0") == {"FINISHED"}
    finally:
        os.umask(old)
    modes = {}
    for folder, dirs, files in os.walk(tmp_path / "D"):
        for name in dirs + files:
            path = os.path.join(folder, name)
            modes[os.path.relpath(path, tmp_path)] = stat.S_IMODE(os.stat(path).st_mode)
    folders = {p: m for p, m in modes.items() if os.path.isdir(tmp_path / p)}
    files = {p: m for p, m in modes.items() if p not in folders}
    assert folders and set(folders.values()) == {0o755}, folders
    assert "D/dataset.json" in files and set(files.values()) == {0o644}, files
    _validate(tmp_path / "D")
