"""An FBX that Blender's own importer fails on: the message says what Blender said (its reason),
not where in Blender's Python it was raised, and the scene is left as it was (issue 11)."""

import re

import fbx_bytes
import pytest
from test_mixamo_import import import_mixamo, state


def _craft(kind, folder):
    path = folder / f"{kind}.fbx"
    if kind == "importer_exception":  # parses; the importer's Python then raises
        return fbx_bytes.without_global_settings(path)
    if kind == "truncated":
        return fbx_bytes.fbx_file(path, fbx_bytes.node(b"Objects", children=[fbx_bytes.node(b"A")]))
    path.write_bytes(b"; FBX 7.4.0 project file\nFBXHeaderExtension:  {\n}\n")  # ascii
    return path


@pytest.mark.parametrize(
    "kind, reason",
    [
        ("importer_exception", r"\w+Error: .+"),
        ("ascii", r"ASCII FBX files are not supported"),
        ("truncated", r".+"),
    ],
)
def test_an_fbx_blender_cannot_import_reports_blenders_reason(clean_scene, tmp_path, kind, reason):
    import bpy

    bpy.ops.blendmimic3d.add_mannequin()
    clean_scene.render.fps = 24
    before = state(clean_scene)
    path = str(_craft(kind, tmp_path))
    if kind == "truncated":
        with open(path, "r+b") as handle:
            handle.truncate(60)
    with pytest.raises(RuntimeError) as raised:
        import_mixamo(filepath=path)
    message = str(raised.value).strip()
    assert re.fullmatch(
        rf"Error: {re.escape(path)}: the FBX importer could not read it \({reason}\)", message
    ), message
    assert not re.search(r"location|\.py:\d+|Traceback", message, re.IGNORECASE), message
    assert message.count(path) == 1
    assert state(clean_scene) == before
