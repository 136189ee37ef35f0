"""Drawing the live occlusion in the 3D Viewport with Blender's ``gpu`` module: every person's
17 joints and bones at their 3D positions, coloured by their label from the chosen dataset
camera (the QA video's colours, ``qa_overlay.TYPE_COLOURS``), and one timeline strip per camera
along the bottom of the view: where in the take the people are hidden, and by what.

Joints are drawn over everything (no depth test): hidden joints are the point.
"""

import blf
import bpy
import gpu
import numpy as np
from gpu_extras.batch import batch_for_shader

from ..core.joints import PARENTS_BM3D
from ..core.occlusion.labels import N_TYPES, OcclusionType
from ..core.occlusion.qa_overlay import TYPE_COLOURS
from .occlusion_live import LIVE

# RGBA (0..1) per occlusion code.
COLOURS = np.array([(*np.array(TYPE_COLOURS[code]) / 255.0, 1.0) for code in range(N_TYPES)])
_BONES = np.array([(parent, joint) for joint, parent in enumerate(PARENTS_BM3D) if parent >= 0])
STRIP_HEIGHT = 14  # pixels per camera's strip
LABEL_WIDTH = 22  # pixels left of the strips for the camera numbers
STRIP_MARGIN = 6

_handles = []
_cache = {"key": None, "batches": None}


def joint_colours(types):
    """RGBA (P*17, 4) of codes (P,17)."""
    return COLOURS[np.asarray(types, dtype=np.int64).ravel()]


def _bone_batch(joints, types):
    points = np.asarray(joints, dtype=np.float32).reshape(-1, 3)
    colours = joint_colours(types).astype(np.float32)
    # A bone takes its child joint's colour, as in the QA video.
    ends = (_BONES[None] + 17 * np.arange(len(joints))[:, None, None]).reshape(-1, 2)
    shader = gpu.shader.from_builtin("POLYLINE_FLAT_COLOR")
    line_colours = np.repeat(colours[ends[:, 1]], 2, axis=0)
    batch = batch_for_shader(shader, "LINES", {"pos": points[ends.ravel()], "color": line_colours})
    return shader, batch


def draw_bones():
    """POST_VIEW: the bones at their 3D positions, in the chosen camera's colours."""
    settings, types = _shown()
    if types is None:
        return
    key = (LIVE.version, settings.camera)
    if _cache["key"] != key:
        _cache["key"], _cache["batches"] = key, _bone_batch(LIVE.joints, types)
    shader, batch = _cache["batches"]
    gpu.state.depth_test_set("NONE")
    gpu.state.blend_set("ALPHA")
    shader.uniform_float("viewportSize", gpu.state.viewport_get()[2:])
    shader.uniform_float("lineWidth", max(1.0, settings.joint_size / 4))
    batch.draw(shader)
    gpu.state.blend_set("NONE")


def region_pixels(points, perspective, width, height):
    """Pixels (N,2) in a region of world points (N,3) through the view's perspective matrix, and
    whether each lies in front of the view."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    clip = points @ np.asarray(perspective)[:3, :3].T + np.asarray(perspective)[:3, 3]
    w = points @ np.asarray(perspective)[3, :3] + np.asarray(perspective)[3, 3]
    front = w > 1e-9
    ndc = clip[:, :2] / np.where(front, w, 1.0)[:, None]
    return (ndc * 0.5 + 0.5) * (width, height), front


def disc_triangles(centres, radius, segments=12):
    """Triangles (N*segments*3, 2) of discs around ``centres`` (N,2)."""
    angles = np.linspace(0, 2 * np.pi, segments + 1)
    ring = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    fan = np.stack([np.zeros((segments, 2)), ring[:-1], ring[1:]], axis=1).reshape(-1, 2)
    return (np.asarray(centres)[:, None, :] + fan[None]).reshape(-1, 2)


def draw_joints():
    """POST_PIXEL: a disc on every joint, over everything, in its label's colour (discs, not GL
    points: point shaders differ between Blender versions)."""
    settings, types = _shown()
    if types is None:
        return
    region = bpy.context.region
    perspective = np.array(bpy.context.region_data.perspective_matrix)
    pixels, front = region_pixels(LIVE.joints, perspective, region.width, region.height)
    colours = joint_colours(types)[front]
    segments = 12
    verts = disc_triangles(pixels[front], settings.joint_size / 2, segments)
    shader = gpu.shader.from_builtin("FLAT_COLOR")
    gpu.state.blend_set("ALPHA")
    _draw(shader, "TRIS", verts.astype(np.float32),
          np.repeat(colours, 3 * segments, axis=0).astype(np.float32))  # fmt: skip
    gpu.state.blend_set("NONE")


def _shown():
    """(settings, codes (P,17) of the chosen camera) when there is something to draw."""
    settings = getattr(bpy.context.scene, "bm3d_overlay", None)
    if settings is None or not settings.show or LIVE.joints is None:
        return settings, None
    return settings, LIVE.types.get(settings.camera)


def strip_rectangles(strip, x, y, width, height, full=1.0):
    """Triangles (6 per bar) and colours of one camera's strip: for each bin a column whose
    stacked parts are the shares of each hidden type (visible stays empty); a hidden share of
    ``full`` fills the strip's height."""
    strip = np.asarray(strip) / full
    bins = len(strip)
    verts, colours = [], []
    if not bins:
        return np.zeros((0, 2), np.float32), np.zeros((0, 4), np.float32)
    step = width / bins
    for b in range(bins):
        bottom = y
        for code in range(N_TYPES):
            if code == OcclusionType.VISIBLE or strip[b, code] <= 0:
                continue
            top = bottom + strip[b, code] * height
            x0, x1 = x + b * step, x + (b + 1) * step
            verts += [(x0, bottom), (x1, bottom), (x1, top), (x0, bottom), (x1, top), (x0, top)]
            colours += [COLOURS[code]] * 6
            bottom = top
    return np.array(verts, np.float32).reshape(-1, 2), np.array(colours, np.float32).reshape(-1, 4)


def draw_strips():
    """POST_PIXEL: one strip per camera along the bottom of the view, the current frame marked."""
    context = bpy.context
    settings = getattr(context.scene, "bm3d_overlay", None)
    if settings is None or not settings.show or not settings.show_strips or not LIVE.budget:
        return
    region = context.region
    width = min(region.width - 2 * STRIP_MARGIN - LABEL_WIDTH, 400)
    shader = gpu.shader.from_builtin("FLAT_COLOR")
    frame = context.scene.frame_current
    # One scale for every strip, so cameras compare: the most hidden stretch fills its strip.
    full = max(max(1.0 - b.strip[:, OcclusionType.VISIBLE].min() for b in LIVE.budget.values()),
               0.05)  # fmt: skip
    for row, (camera, budget) in enumerate(sorted(LIVE.budget.items())):
        y = STRIP_MARGIN + row * (STRIP_HEIGHT + 2)
        blf.position(0, STRIP_MARGIN, y + 2, 0)
        blf.size(0, 11)
        blf.color(0, 1, 1, 1, 0.9 if camera == settings.camera else 0.5)
        blf.draw(0, str(camera))
        x = STRIP_MARGIN + LABEL_WIDTH
        background = [(x, y), (x + width, y), (x + width, y + STRIP_HEIGHT), (x, y),
                      (x + width, y + STRIP_HEIGHT), (x, y + STRIP_HEIGHT)]  # fmt: skip
        shade = 0.35 if camera == settings.camera else 0.15
        _draw(shader, "TRIS", background, [(shade, shade, shade, 0.8)] * 6)
        verts, colours = strip_rectangles(budget.strip, x, y, width, STRIP_HEIGHT, full)
        if len(verts):
            _draw(shader, "TRIS", verts, colours)
        frames = int(budget.edges[-1])
        if budget.first_frame <= frame < budget.first_frame + frames:
            mark = x + (frame - budget.first_frame + 0.5) / frames * width
            _draw(
                shader, "LINES", [(mark, y - 1), (mark, y + STRIP_HEIGHT + 1)], [(1, 1, 1, 1)] * 2
            )


def _draw(shader, kind, positions, colours):
    batch_for_shader(shader, kind, {"pos": positions, "color": colours}).draw(shader)


def register():
    space = bpy.types.SpaceView3D
    _handles.append(space.draw_handler_add(draw_bones, (), "WINDOW", "POST_VIEW"))
    _handles.append(space.draw_handler_add(draw_joints, (), "WINDOW", "POST_PIXEL"))
    _handles.append(space.draw_handler_add(draw_strips, (), "WINDOW", "POST_PIXEL"))


def unregister():
    while _handles:
        bpy.types.SpaceView3D.draw_handler_remove(_handles.pop(), "WINDOW")
    _cache["key"] = _cache["batches"] = None
