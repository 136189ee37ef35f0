"""An independent check of the occlusion labels, a test oracle (the export tests and
``benchmarks/bench_export.py`` use it; it is not shipped): Cycles renders an object-index and
depth image of a few frames at low resolution, and the label of each joint is compared with what
the render shows at the joint's pixel.

Every object is drawn with one emission material whose colour is (object index, z depth, 0), saved
as a 32-bit float EXR, so one render gives both passes without the compositor. The render says a
joint is visible when its pixel shows nothing in front of the joint, or the joint's own body at
most ``occlusion.OWN_FLESH`` in front of it; out-of-frame and behind-camera joints count as not
visible. Visibility comes from Cycles' camera rays, not from the labeller's casts. The render
cannot see an air gap inside that depth (a hand held just in front of the face), which the
labeller calls self-occlusion, so such joints count as disagreements. Scene settings are restored
afterwards.
"""

import dataclasses
import os
import tempfile

import bpy
import numpy as np

from blendmimic3d_addon.blender.compat import material_node_tree
from blendmimic3d_addon.blender.sampling import SceneSampler
from blendmimic3d_addon.blender.scene_settings import changed
from blendmimic3d_addon.blender.takes import play_take, played_range
from blendmimic3d_addon.core.geometry import camera as cam
from blendmimic3d_addon.core.occlusion import classify as occlusion
from blendmimic3d_addon.core.occlusion.labels import OcclusionType

_CHECK_MATERIAL = "BM3D_depth_check"


@dataclasses.dataclass
class DepthCheck:
    frames: list
    agreement: float  # over every joint, camera, person and checked frame
    agreement_in_frame: float  # over the joints that project inside the image
    entries: int
    labels_visible: np.ndarray  # (F,C,P,17) bool
    render_visible: np.ndarray  # (F,C,P,17) bool

    def summary(self):
        return (f"occlusion labels agree with the render on {self.agreement:.1%} of "
                f"{self.entries} joint-camera entries ({self.agreement_in_frame:.1%} in frame), "
                f"frames {self.frames}")  # fmt: skip


def _check_material():
    material = bpy.data.materials.new(_CHECK_MATERIAL)
    tree = material_node_tree(material)
    nodes, links = tree.nodes, tree.links
    nodes.clear()
    info = nodes.new("ShaderNodeObjectInfo")
    camera = nodes.new("ShaderNodeCameraData")
    combine = nodes.new("ShaderNodeCombineColor")
    emission = nodes.new("ShaderNodeEmission")
    output = nodes.new("ShaderNodeOutputMaterial")
    links.new(info.outputs["Object Index"], combine.inputs["Red"])
    links.new(camera.outputs["View Z Depth"], combine.inputs["Green"])
    links.new(combine.outputs["Color"], emission.inputs["Color"])
    links.new(emission.outputs["Emission"], output.inputs["Surface"])
    return material


def _render_settings(scene, scale):
    render, cycles = scene.render, scene.cycles
    settings = [
        (render, "engine", "CYCLES"),
        (render, "resolution_percentage", max(1, int(render.resolution_percentage * scale))),
        (render, "use_compositing", False),
        (render, "use_sequencer", False),
        (render.image_settings, "file_format", "OPEN_EXR"),
        (render.image_settings, "color_depth", "32"),
        (scene.view_settings, "view_transform", "Standard"),
        (scene.view_settings, "look", "None"),
        (scene.view_settings, "exposure", 0.0),
        (scene.view_settings, "gamma", 1.0),
        (cycles, "device", "CPU"),
        (cycles, "samples", 1),
        (cycles, "use_adaptive_sampling", False),
        (cycles, "use_denoising", False),
        (cycles, "filter_width", 0.01),  # one camera ray per pixel, no blending of neighbours
        (cycles, "max_bounces", 0),
    ]
    if scene.world is not None:
        settings.append((scene.world, "use_nodes", False))
        settings.append((scene.world, "color", (0.0, 0.0, 0.0)))
    return settings


def _render(scene, camera, frame, path):
    scene.camera = camera
    scene.frame_set(frame)
    scene.render.filepath = path
    bpy.ops.render.render(write_still=True)
    image = bpy.data.images.load(path)
    try:
        image.colorspace_settings.name = "Non-Color"
        width, height = image.size
        pixels = np.empty(width * height * 4, dtype=np.float32)
        image.pixels.foreach_get(pixels)
    finally:
        bpy.data.images.remove(image)
    # Blender's rows run bottom-up; flip so that row 0 is the top of the image, as pixels are.
    return pixels.reshape(height, width, 4)[::-1]


def run_depth_check(scene, depsgraph, action, frames=3, width=256):
    """Label ``frames`` evenly spread frames of ``action`` and compare them with Cycles renders
    about ``width`` pixels wide (never wider than the dataset's images)."""
    sampler = SceneSampler(scene, depsgraph)
    scale = min(1.0, width / sampler.camera_set.res[0][0])
    cameras = list(range(len(sampler.cameras)))
    start, end = played_range(scene, action)  # the primary's start offset included
    wanted = np.unique(np.linspace(start, end, frames).round().astype(int))
    try:
        take = sampler.whole_take(action, cameras, frames=wanted)
    finally:
        sampler.restore()
    chosen = range(len(take.frames))
    bodies = sampler.bodies
    index_of = {}
    for person, meshes in enumerate(bodies):
        for mesh in meshes:
            index_of[mesh.name] = person + 1
    objects = [o for o in scene.objects if o.type == "MESH"]
    changes = _render_settings(scene, scale)
    changes += [(o, "pass_index", index_of.get(o.name, 1000)) for o in objects]
    material = _check_material()
    changes.append((scene.view_layers[0], "material_override", material))
    changes += [(scene, "camera", scene.camera), (scene.render, "filepath", scene.render.filepath)]
    labels_visible, render_visible = [], []
    folder = tempfile.mkdtemp(prefix="bm3d-depth-check-")
    try:
        with changed(changes):
            play_take(scene, action)
            for k in chosen:
                frame = int(take.frames[k])
                joints = take.positions_3d[k]
                per_camera = []
                for c in cameras:
                    image = _render(scene, sampler.cameras[c], frame,
                                    os.path.join(folder, f"f{frame}_c{c}.exr"))  # fmt: skip
                    per_camera.append(_render_verdict(image, joints, sampler, c))
                render_visible.append(per_camera)
                labels_visible.append([take.types[c][k] == OcclusionType.VISIBLE for c in cameras])
    finally:
        sampler.restore()
        bpy.data.materials.remove(material)
        for name in os.listdir(folder):
            os.remove(os.path.join(folder, name))
        os.rmdir(folder)
    labels_visible, render_visible = np.array(labels_visible), np.array(render_visible)
    in_frame = _in_frame(take, chosen, cameras)
    return DepthCheck(
        [int(take.frames[k]) for k in chosen],
        occlusion.agreement(labels_visible, render_visible),
        occlusion.agreement(labels_visible, render_visible, in_frame),
        int(labels_visible.size),
        labels_visible,
        render_visible,
    )


def _in_frame(take, chosen, cameras):
    out = []
    for k in chosen:
        codes = np.array([take.types[c][k] for c in cameras])
        out.append((codes != OcclusionType.OUT_OF_FRAME) & (codes != OcclusionType.BEHIND_CAMERA))
    return np.array(out)


def _render_verdict(image, joints, sampler, c):
    """(P,17) bool: what the render shows at each joint's pixel leaves the joint visible."""
    cams = sampler.camera_set
    height, width = image.shape[:2]
    res_w, res_h = cams.res[c]
    uv = cam.project(joints, cams.P[c])[0]  # (P,17,2) in full-resolution pixels
    depth = cam.camera_depth(joints, cams.RT[c])[0]
    distance = np.linalg.norm(joints - cam.camera_centre(cams.RT[c]), axis=-1)
    col = np.floor(uv[..., 0] * width / res_w).astype(np.int64)
    row = np.floor(uv[..., 1] * height / res_h).astype(np.int64)
    inside = (depth > 0) & (col >= 0) & (col < width) & (row >= 0) & (row < height)
    pixel = image[np.clip(row, 0, height - 1), np.clip(col, 0, width - 1)]
    shown = np.rint(pixel[..., 0]).astype(np.int64)
    # The pixel's z depth, turned into a distance along the joint's ray.
    surface = pixel[..., 1] * distance / np.where(depth > 0, depth, 1.0)
    own = shown == np.arange(1, len(joints) + 1)[:, None]
    # Seen: nothing in front of the joint (background, or the first surface lies behind it), or
    # the first surface is the person's own skin at most OWN_FLESH in front of it.
    clear = (shown == 0) | (surface >= distance)
    return inside & (clear | (own & (distance - surface <= occlusion.OWN_FLESH)))
