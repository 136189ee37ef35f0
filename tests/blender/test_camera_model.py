"""The pure camera model agrees with Blender's own projection (world_to_camera_view)."""

import numpy as np
import pytest

from blendmimic3d_addon.core.geometry import camera as cam

CASES = {
    "auto-wide": dict(lens=50, sensor_fit="AUTO", res=(1920, 1080)),
    "auto-tall-published": dict(lens=30, sensor_fit="AUTO", res=(1000, 1002)),
    "vertical": dict(lens=35, sensor_fit="VERTICAL", res=(1280, 720)),
    "horizontal-shift": dict(lens=24, sensor_fit="HORIZONTAL", res=(800, 1200), shift=(0.1, -0.2)),
    "pixel-aspect": dict(lens=40, sensor_fit="AUTO", res=(1000, 600), aspect=(1.0, 2.0)),
    "pixel-aspect-x": dict(
        lens=40, sensor_fit="AUTO", res=(1000, 800), aspect=(2.0, 1.0), shift=(0.05, 0.1)
    ),
    "percentage-scaled": dict(
        lens=28, sensor_fit="AUTO", res=(1600, 900), percentage=50, scale=3.0
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_projection_matches_blender(clean_scene, case):
    import bpy
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector

    spec = CASES[case]
    scene = clean_scene
    render = scene.render
    render.resolution_x, render.resolution_y = spec["res"]
    render.resolution_percentage = spec.get("percentage", 100)
    render.pixel_aspect_x, render.pixel_aspect_y = spec.get("aspect", (1.0, 1.0))
    data = bpy.data.cameras.new("cam")
    data.lens, data.sensor_width, data.sensor_height = spec["lens"], 36.0, 24.0
    data.sensor_fit = spec["sensor_fit"]
    data.shift_x, data.shift_y = spec.get("shift", (0.0, 0.0))
    obj = bpy.data.objects.new("Camera_0", data)
    scene.collection.objects.link(obj)
    obj.location = (3.0, -7.0, 1.6)
    obj.rotation_euler = (np.radians(85), np.radians(3), np.radians(20))
    obj.scale = (spec.get("scale", 1.0),) * 3
    bpy.context.view_layer.update()

    K = cam.intrinsics_from_blender(
        data.lens, data.sensor_width, data.sensor_height, data.sensor_fit, data.shift_x,
        data.shift_y, render.resolution_x, render.resolution_y, render.resolution_percentage,
        render.pixel_aspect_x, render.pixel_aspect_y,
    )  # fmt: skip
    RT = cam.extrinsics_from_world_matrix(np.array(obj.matrix_world))
    width, height = cam.render_size(
        render.resolution_x, render.resolution_y, render.resolution_percentage
    )
    points = np.random.default_rng(7).normal(scale=1.0, size=(50, 3)) + [1.5, -1.0, 1.0]
    ours = cam.project(points, cam.projection_matrix(K, RT))[0]
    depth = cam.camera_depth(points, RT)[0]
    for point, uv, z in zip(points, ours, depth, strict=True):
        x, y, blender_depth = world_to_camera_view(scene, obj, Vector(point))
        assert z == pytest.approx(blender_depth, rel=1e-5)
        # Blender's normalised frame: origin bottom-left; ours: pixels from the top-left.
        assert uv[0] == pytest.approx(x * width, abs=1e-3)
        assert uv[1] == pytest.approx((1 - y) * height, abs=1e-3)
