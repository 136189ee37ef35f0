"""``export --blend`` on a file that is not a .blend: one line naming it, exit 1, nothing
written, the open scene unchanged (issue 11, item 6)."""

import os

import pytest


def _cases(tmp_path):
    text = tmp_path / "notes.blend"
    text.write_text("not a blend file\n")
    empty = tmp_path / "empty.blend"
    empty.write_bytes(b"")
    truncated = tmp_path / "truncated.blend"
    truncated.write_bytes(b"BLENDER-v404RENDH" + bytes(40))  # a header and then nothing useful
    folder = tmp_path / "folder.blend"
    folder.mkdir()
    fifo = tmp_path / "fifo.blend"
    os.mkfifo(fifo)
    return {
        "text": (text, "not a .blend file"),
        "empty": (empty, "not a .blend file"),
        "truncated": (truncated, "Blender cannot open it"),
        "folder": (folder, "a folder where a regular file belongs"),
        "fifo": (fifo, "a FIFO where a regular file belongs"),
        "missing": (tmp_path / "missing.blend", "file is missing"),
    }


@pytest.mark.parametrize("case", ["text", "empty", "truncated", "folder", "fifo", "missing"])
def test_export_blend_that_is_not_one(addon, tmp_path, capsys, case):
    import bpy

    from blendmimic3d_addon import cli

    marker = bpy.data.objects.new("KeepMe", None)
    bpy.context.scene.collection.objects.link(marker)
    path, reason = _cases(tmp_path)[case]
    out = tmp_path / "out"
    assert cli.main(["export", "--blend", str(path), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: {reason}") and len(err.strip().splitlines()) == 1, err
    assert not out.exists()
    assert "KeepMe" in bpy.context.scene.objects
