"""The sidebar: the "BlendMimic3D" tab of the 3D Viewport, its panels and the People list.

Panels only draw: each button calls an operator by its class's ``bl_idname`` and carries the
panel's settings (a property group on the scene) into it (``pass_settings``).
"""

import json

import bpy

from .. import __version__
from ..core.format import coco
from ..core.joints import JOINT_SETS
from . import (
    camera_ops,
    coco_ops,
    export_ops,
    mannequin,
    mixamo_import,
    occluders,
    people,
    refine_job,
    refine_ops,
    scenarios,
    scene_model,
    takes,
    video_ops,
)
from .registration import classes_and_scene_settings

CATEGORY = "BlendMimic3D"

QA_LEGEND = (
    "QA colours: green visible, yellow self-occluded,",
    "orange another person, red an object,",
    "cyan out of frame, magenta occluded (untyped)",
)


class BM3D_PT_main(bpy.types.Panel):
    bl_idname = "BM3D_PT_main"
    bl_label = "BlendMimic3D"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = CATEGORY

    def draw(self, context):
        layout = self.layout
        layout.label(text=f"BlendMimic3D Studio {__version__}", icon="ARMATURE_DATA")


class SubPanel:
    """Mixin for the feature panels under the main one (set bl_label, bl_idname, bl_order)."""

    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = CATEGORY
    bl_parent_id = BM3D_PT_main.bl_idname


def pass_settings(op_props, props, names):
    """A panel button carries the scene's settings into the operator it calls."""
    for name in names:
        setattr(op_props, name, getattr(props, name))


class BM3D_PT_characters(SubPanel, bpy.types.Panel):
    bl_idname = "BM3D_PT_characters"
    bl_label = "Characters"
    bl_order = 10

    def draw(self, context):
        layout = self.layout
        col = layout.column(align=True)
        col.operator(mixamo_import.BM3D_OT_import_mixamo.bl_idname, icon="IMPORT")
        col.operator_menu_enum(mannequin.BM3D_OT_add_mannequin.bl_idname, "action",
                              icon="OUTLINER_OB_ARMATURE")  # fmt: skip
        persons = scene_model.people(context.scene)
        layout.label(text=f"{len(persons)} people in the scene")
        active = context.view_layer.objects.active
        if active is not None and active in persons:
            box = layout.box()
            box.label(text=f"{active.name}: action library", icon="ACTION")
            for name in scene_model.person_actions(active):
                box.label(text=name)


class BM3D_UL_people(bpy.types.UIList):
    def draw_item(self, context, layout, data, item, icon, active_data, active_property, index=0):
        arm = item.armature
        if arm is None or arm.name not in context.scene.objects:
            layout.label(text="(removed: refresh)", icon="ERROR")
            return
        primary = int(arm.get(scene_model.PERSON_INDEX, -1)) == 0
        row = layout.row(align=True)
        row.label(text=arm.name, icon="SOLO_ON" if primary else "ARMATURE_DATA")
        action, offset = takes.take(arm)
        text = action.name if action is not None else "(no action)"
        row.label(text=f"{text} +{offset}" if offset else text)


class BM3D_PT_people(SubPanel, bpy.types.Panel):
    bl_idname = "BM3D_PT_people"
    bl_label = "People"
    bl_order = 20

    def draw(self, context):
        layout = self.layout
        settings = context.scene.bm3d_people
        row = layout.row()
        row.template_list(
            BM3D_UL_people.__name__, "", settings, "people", settings, "active_index", rows=3
        )
        col = row.column(align=True)
        col.operator(people.BM3D_OT_refresh_people.bl_idname, text="", icon="FILE_REFRESH")
        col.operator(people.BM3D_OT_make_primary.bl_idname, text="", icon="SOLO_ON")

        if 0 <= settings.active_index < len(settings.people):
            item = settings.people[settings.active_index]
            arm = item.armature
            if arm is not None and arm.name in context.scene.objects:
                box = layout.box()
                box.prop(item, "action")
                box.prop(item, "start_offset")
                col = box.column(align=True)
                col.prop(arm, "location", index=0, text="X")
                col.prop(arm, "location", index=1, text="Y")
                box.prop(arm, "rotation_euler", index=2, text="Heading")

        box = layout.box()
        box.prop(settings, "preset")
        if settings.preset == "RANDOM":
            box.prop(settings, "area")
            box.prop(settings, "min_distance")
            box.prop(settings, "seed")
        elif settings.preset != "SINGLE":
            box.prop(settings, "spacing")
        op = box.operator(people.BM3D_OT_layout_people.bl_idname, icon="COMMUNITY")
        pass_settings(op, settings, people.layout_settings())


class BM3D_PT_occluders(SubPanel, bpy.types.Panel):
    bl_idname = "BM3D_PT_occluders"
    bl_label = "Occluders & Scenario"
    bl_order = 30

    def draw(self, context):
        layout = self.layout
        props = context.scene.bm3d_occluders
        layout.prop(props, "kind")
        layout.prop(props, "placement")
        col = layout.column(align=True)
        col.prop(props, "person_index")
        if props.placement == "BETWEEN":
            col.prop(props, "camera_index")
            col.prop(props, "fraction")
        else:
            for name in ("count", "radius_min", "radius_max", "seed"):
                col.prop(props, name)
        col = layout.column(align=True)
        for name in ("width", "depth", "height"):
            col.prop(props, name)
        row = layout.row(align=True)
        op = row.operator(occluders.BM3D_OT_add_occluder.bl_idname, icon="MESH_CUBE")
        pass_settings(op, props, occluders.occluder_settings())
        row.operator(occluders.BM3D_OT_clear_occluders.bl_idname, text="Clear", icon="TRASH")
        layout.label(text=f"{len(scene_model.occluders(context.scene))} occluders",
                     icon="MOD_MASK")  # fmt: skip
        scenario_box = layout.box()
        scenario_box.label(text="Scenario", icon="SCENE_DATA")
        scenario_box.prop(props, "scenario")
        if props.scenario == "OUT_OF_FRAME":
            scenario_box.prop(props, "scenario_camera")
            scenario_box.prop(props, "zoom")
        op = scenario_box.operator(scenarios.BM3D_OT_apply_scenario.bl_idname, icon="PLAY")
        pass_settings(op, props, occluders.scenario_settings())
        # A scenario that rigs cameras fits them as the Cameras panel says.
        pass_settings(op, context.scene.bm3d_cameras, camera_ops.fit_settings())


class BM3D_PT_cameras(SubPanel, bpy.types.Panel):
    bl_idname = "BM3D_PT_cameras"
    bl_label = "Cameras"
    bl_order = 40

    def draw(self, context):
        layout = self.layout
        props = context.scene.bm3d_cameras
        layout.prop(props, "preset")
        if props.preset == "RING":
            col = layout.column(align=True)
            for name in ("count", "radius", "height", "focal_px"):
                col.prop(props, name)
        layout.prop(props, "follow_people")
        layout.prop(props, "fit")
        box = layout.box()
        box.label(text="Fit", icon="FULLSCREEN_ENTER")
        for name in ("fit_mode", "margin", "frame_step", "aim"):
            box.prop(props, name)
        row = layout.row(align=True)
        op = row.operator(camera_ops.BM3D_OT_rig_cameras.bl_idname, icon="OUTLINER_OB_CAMERA")
        pass_settings(op, props, (*camera_ops.rig_settings(), *camera_ops.fit_settings()))
        op = row.operator(
            camera_ops.BM3D_OT_fit_cameras.bl_idname, text="Re-fit", icon="FILE_REFRESH"
        )
        pass_settings(op, props, camera_ops.fit_settings())
        cameras = scene_model.dataset_cameras(context.scene)
        layout.label(text=f"{len(cameras)} dataset cameras", icon="CAMERA_DATA")


class BM3D_PT_export(SubPanel, bpy.types.Panel):
    bl_idname = "BM3D_PT_export"
    bl_label = "Export"
    bl_order = 50

    def draw(self, context):
        layout = self.layout
        props = context.scene.bm3d_export
        for name in export_ops.export_settings():
            layout.prop(props, name)
        scene = context.scene
        people, cameras = scene_model.people(scene), scene_model.dataset_cameras(scene)
        actions = takes.scene_actions(scene)
        layout.label(
            text=f"{len(people)} people, {len(cameras)} cameras, {len(actions)} actions",
            icon="INFO",
        )
        op = layout.operator(export_ops.BM3D_OT_export_dataset.bl_idname, icon="EXPORT")
        pass_settings(op, props, export_ops.export_settings())


class BM3D_PT_coco(bpy.types.Panel):
    """Inside the Export panel."""

    bl_idname = "BM3D_PT_coco"
    bl_label = "COCO Keypoints"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_parent_id = "BM3D_PT_export"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        frames, settings = context.scene.bm3d_frames, context.scene.bm3d_coco
        box = layout.box()
        for name in ("directory", "engine", "samples", "scale", "masks", "depth"):
            box.prop(frames, name)
        if frames.depth:
            box.prop(frames, "depth_format")
        box.prop(frames, "overwrite")
        op = box.operator(coco_ops.BM3D_OT_render_frames.bl_idname, icon="RENDER_STILL")
        pass_settings(op, frames, coco_ops.FrameSettings.__annotations__)
        box = layout.box()
        for name in ("directory", "out", "every", "cameras", "split"):
            box.prop(settings, name)
        box.prop(settings, "layouts")
        box.prop(settings, "overwrite")
        op = box.operator(coco_ops.BM3D_OT_export_coco.bl_idname, icon="EXPORT")
        pass_settings(op, settings, coco_ops.CocoSettings.__annotations__)
        box.label(text=f"Face points: {', '.join(coco.FACE_POINTS)}", icon="INFO")


class BM3D_PT_videos(SubPanel, bpy.types.Panel):
    bl_idname = "BM3D_PT_videos"
    bl_label = "Videos"
    bl_order = 55

    def draw(self, context):
        layout = self.layout
        settings = context.scene.bm3d_videos
        layout.prop(settings, "directory")
        layout.prop(settings, "engine")
        row = layout.row(align=True)
        row.prop(settings, "samples")
        row.prop(settings, "scale")
        row = layout.row(align=True)
        row.prop(settings, "qa_video")
        row.prop(settings, "overwrite")
        if settings.qa_video:
            legend = layout.column(align=True)
            for line in QA_LEGEND:
                legend.label(text=line)
        count = len(scene_model.dataset_cameras(context.scene))
        layout.label(text=f"{count} dataset camera(s)", icon="CAMERA_DATA")
        op = layout.operator(video_ops.BM3D_OT_render_videos.bl_idname, icon="RENDER_ANIMATION")
        pass_settings(op, settings, video_ops.video_settings())


class BM3D_PT_refiner(SubPanel, bpy.types.Panel):
    bl_idname = "BM3D_PT_refiner"
    bl_label = "Pose Refiner"
    bl_order = 60
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        settings = context.scene.bm3d_refine
        col = layout.column(align=True)
        col.prop(settings, "joint_order")
        op = col.operator(refine_ops.BM3D_OT_import_predictions.bl_idname, icon="IMPORT")
        op.joint_order = settings.joint_order
        layout.prop(settings, "ground_truth")
        if settings.ground_truth == "DATASET":
            box = layout.column(align=True)
            box.prop(settings, "gt_folder")
            box.prop(settings, "gt_action")
            box.prop(settings, "gt_camera")
        elif settings.ground_truth == "SCENE":
            layout.prop(settings, "gt_camera")
        row = layout.row(align=True)
        row.operator(refine_ops.BM3D_OT_refine_predictions.bl_idname, icon="MOD_SMOOTH")
        row.operator(refine_ops.BM3D_OT_export_refined.bl_idname, icon="EXPORT", text="Export")
        if settings.results:
            _draw_results(layout, settings, json.loads(settings.results))


def _draw_results(layout, settings, report):
    box = layout.box()
    frames, total = report["frames"], report.get("total", report["frames"])
    box.label(text=f"{report['source']}: {frames} of {total} frames counted (mm, before -> after)")
    if frames < total:
        box.label(text=f"{total - frames} frames with missing joints left out", icon="INFO")
    before, after = report["before"], report["after"]
    rows = [("Jitter", "jitter_mm"), ("Bone Spread", "bone_std_mm")]
    if "mpjpe" in before:
        rows = [("MPJPE", "mpjpe"), ("P-MPJPE", "p_mpjpe"), *rows]
    if "occluded" in before:
        rows += [("Occluded", "occluded"), ("Visible", "visible"), ("P Occluded", "p_occluded")]
    grid = box.grid_flow(columns=3, align=True)
    for label, key in rows:
        grid.label(text=label)
        grid.label(text=f"{before.get(key, float('nan')):.1f}")
        grid.label(text=f"{after.get(key, float('nan')):.1f}")
    if "occluded_share" in report:
        box.label(text=f"Occluded joints: {100 * report['occluded_share']:.1f} %")
    if "per_joint" not in before:
        return
    box.prop(settings, "show_per_joint")
    if settings.show_per_joint:
        names = JOINT_SETS["blendmimic3d"]
        col = box.grid_flow(columns=3, align=True)
        for name, b, a in zip(names, before["per_joint"], after["per_joint"], strict=True):
            col.label(text=name)
            col.label(text=f"{b:.1f}")
            col.label(text=f"{a:.1f}")
    image = bpy.data.images.get(refine_job.PLOT_NAME)
    if image is not None:
        top = image.get("bm3d_plot_top_mm", 0.0)
        box.label(text=f"Error over time (0-{top:.0f} mm): red before, green after")
        box.template_icon(icon_value=image.preview_ensure().icon_id, scale=8.0)
        box.label(text=f"Image '{refine_job.PLOT_NAME}' (open it in an Image Editor)")


CLASSES = (
    BM3D_PT_main,
    BM3D_PT_characters,
    BM3D_UL_people,
    BM3D_PT_people,
    BM3D_PT_occluders,
    BM3D_PT_cameras,
    BM3D_PT_export,
    BM3D_PT_coco,
    BM3D_PT_videos,
    BM3D_PT_refiner,
)
register, unregister = classes_and_scene_settings(CLASSES)
