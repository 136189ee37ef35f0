"""Mixamo characters keep their textures: an FBX the test exports itself (the mannequin in a
textured material) imported embedded, from a .fbm or textures folder, or with its texture
missing; rendered, the texture's colour is on the body."""

import importlib
import os

import numpy as np
import pytest

ORANGE = (0.9, 0.3, 0.02)  # linear: far from the room's greys and the skin tones


@pytest.fixture
def chars(addon):
    return importlib.import_module(f"{addon}.blender.character_materials")


def _export(bpy, tmp_path, name, embed, texture_dir):
    """The mannequin in one image-textured material, exported to tmp_path/<name>.fbx; the
    texture file is then moved to ``texture_dir`` (or deleted when None)."""
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.blendmimic3d.add_mannequin(action="Walk")
    image = bpy.data.images.new("cloth", 8, 8, alpha=False)
    image.pixels.foreach_set(np.tile([*ORANGE, 1.0], 64).astype(np.float32))
    source = tmp_path / "paint" / "cloth.png"
    source.parent.mkdir(exist_ok=True)
    image.filepath_raw = str(source)
    image.file_format = "PNG"
    image.save()
    material = bpy.data.materials.new("Cloth")
    if material.node_tree is None:
        material.use_nodes = True
    tree = material.node_tree
    texture = tree.nodes.new("ShaderNodeTexImage")
    texture.image = image
    bsdf = next(n for n in tree.nodes if n.type == "BSDF_PRINCIPLED")
    tree.links.new(texture.outputs["Color"], bsdf.inputs["Base Color"])
    body = bpy.data.objects["Mannequin_Body"]
    body.data.materials.clear()
    body.data.materials.append(material)
    for obj in bpy.context.view_layer.objects:
        obj.select_set(obj.name in ("Mannequin", "Mannequin_Body"))
    path = tmp_path / f"{name}.fbx"
    bpy.ops.export_scene.fbx(filepath=str(path), use_selection=True, bake_anim=False,
                             path_mode="COPY" if embed else "STRIP",
                             embed_textures=embed)  # fmt: skip
    if texture_dir is None:
        source.unlink()
    else:
        (tmp_path / texture_dir).mkdir(exist_ok=True)
        os.replace(source, tmp_path / texture_dir / "cloth.png")
    bpy.ops.wm.read_homefile(use_empty=True)
    return str(path)


def _textures(bpy):
    body = next(o for o in bpy.context.scene.objects if o.get("bm3d_role") == "body")
    return [
        n.image
        for slot in body.material_slots
        for n in slot.material.node_tree.nodes
        if n.type == "TEX_IMAGE"
    ]


@pytest.mark.parametrize(
    ("embed", "texture_dir"), [(True, None), (False, "character.fbm"), (False, "textures")]
)
def test_texture_found_and_packed(addon, chars, tmp_path, embed, texture_dir):
    import bpy

    path = _export(bpy, tmp_path, "character", embed, texture_dir)
    if texture_dir:  # nothing beside the file: only the folder has it
        assert not os.path.exists(os.path.join(os.path.dirname(path), "cloth.png"))
    assert bpy.ops.blendmimic3d.import_mixamo(filepath=path) == {"FINISHED"}
    (image,) = _textures(bpy)
    assert image.packed_file is not None  # the pixels below come from the packed copy
    pixel = np.empty(image.size[0] * image.size[1] * 4, np.float32)
    image.pixels.foreach_get(pixel)
    assert np.abs(pixel[:3] - ORANGE).max() < 0.02


def test_missing_texture_warns_and_falls_back_to_a_plain_colour(addon, chars, tmp_path):
    import bpy

    path = _export(bpy, tmp_path, "bare", embed=False, texture_dir=None)
    mixamo = importlib.import_module(f"{addon}.blender.mixamo_import")
    summary = mixamo.import_file(bpy.context, path)
    assert summary.endswith("(warning: texture cloth.png of Cloth not found: plain colour)")
    assert _textures(bpy) == [] and "cloth" not in bpy.data.images
    body = next(o for o in bpy.context.scene.objects if o.get("bm3d_role") == "body")
    bsdf = next(n for n in body.material_slots[0].material.node_tree.nodes
                if n.type == "BSDF_PRINCIPLED")  # fmt: skip
    assert not bsdf.inputs["Base Color"].links
    assert tuple(bsdf.inputs["Base Color"].default_value)[:3] == pytest.approx(chars.FALLBACK)


def test_embedded_texture_colour_is_on_the_rendered_body(addon, tmp_path):
    import bpy

    path = _export(bpy, tmp_path, "character", embed=True, texture_dir=None)
    bpy.ops.blendmimic3d.import_mixamo(filepath=path)
    scene = bpy.context.scene
    bpy.ops.blendmimic3d.add_environment(kind="CAPTURE_ROOM")
    bpy.ops.blendmimic3d.rig_cameras(preset="BLENDMIMIC3D", fit=True)
    videos = importlib.import_module(f"{addon}.blender.render_presets")
    videos.apply(scene, "REALISTIC", 8)
    scene.render.resolution_x = scene.render.resolution_y = 64
    scene.camera = bpy.data.objects["Camera_0"]
    scene.render.filepath = str(tmp_path / "frame.png")
    bpy.ops.render.render(write_still=True)
    frames = importlib.import_module(f"{addon}.blender.video_frames")
    rgb = frames.read_frame(str(tmp_path / "frame.png"))[..., :3].astype(int)
    orange = (rgb[..., 0] > rgb[..., 1] + 60) & (rgb[..., 1] > rgb[..., 2] + 20)
    assert orange.sum() >= 30  # the body, in the texture's colour
