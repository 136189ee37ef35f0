"""The sidebar: the "BlendMimic3D" tab of the 3D Viewport, its panels and the People list.

Panels only draw: each button calls an operator by its class's ``bl_idname`` and carries the
panel's settings (a property group on the scene) into it (``pass_settings``).
"""

import json

import blf
import bpy

from .. import __version__
from ..core.format import coco
from ..core.geometry import occluder_library
from ..core.joints import JOINT_SETS
from ..core.occlusion import budget as budget_core
from ..core.occlusion.labels import LABEL_NAMES, N_TYPES, OcclusionType
from . import (
    appearance,
    batch_ops,
    camera_ops,
    coco_ops,
    environments,
    export_choices,
    export_ops,
    mannequin,
    mixamo_import,
    occluders,
    occlusion_ops,
    panel_hints,
    people,
    refine_job,
    refine_ops,
    render_presets,
    scenarios,
    scene_model,
    takes,
    video_ops,
)
from .occlusion_live import LIVE
from .registration import classes_and_scene_settings

CATEGORY = "BlendMimic3D"

# Occlusion types as the Occlusion panel names them (short: the sidebar is narrow).
_SHORT = {"visible": "visible", "self": "self", "other_person": "person", "object": "object",
          "out_of_frame": "out", "behind_camera": "behind"}  # fmt: skip

QA_LEGEND = (  # short lines: the sidebar is narrow
    "QA colours: green visible,",
    "yellow self, orange another person,",
    "red an object, cyan out of frame,",
    "magenta occluded (untyped)",
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


def labelled(layout, data, name, text=None, factor=0.4):
    """A setting with its name to the left in a fixed share of the row: Blender gives the name
    of a dropdown or a text field a third of the row and cuts longer ones short."""
    split = layout.split(factor=factor, align=True)
    split.label(text=text or data.bl_rna.properties[name].name)
    split.prop(data, name, text="")
    return split


def wrap(text, width, measure):
    """``text`` split into lines no wider than ``width`` by ``measure`` (a word longer than
    the width keeps a line of its own)."""
    lines = []
    for word in text.split():
        if lines and measure(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def label_wrapped(layout, text, icon="NONE", reserve=90):
    """A message on as many lines as the region's width needs (Blender cuts a long label
    short); ``reserve``: pixels at UI scale 1 that tabs, margins, a box and the icon take."""
    prefs = bpy.context.preferences
    scale = prefs.system.ui_scale or 1.0
    blf.size(0, prefs.ui_styles[0].widget.points * scale)
    region = bpy.context.region
    width = max((region.width if region else 300) - reserve * scale, 100 * scale)
    column = layout.column(align=True)
    indent = "BLANK1" if icon != "NONE" else "NONE"  # later lines line up with the first
    for i, line in enumerate(wrap(text, width, lambda t: blf.dimensions(0, t)[0])):
        column.label(text=line, icon=icon if i == 0 else indent)


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
        if not panel_hints.draw(layout, context.scene, "BM3D_PT_characters"):
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
        row = layout.split(factor=0.68, align=True)  # names are longer than actions
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
        panel_hints.draw(layout, context.scene, "BM3D_PT_people")
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


class BM3D_PT_appearance(SubPanel, bpy.types.Panel):
    bl_idname = "BM3D_PT_appearance"
    bl_label = "Appearance"
    bl_parent_id = "BM3D_PT_people"  # a section of the People panel
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        settings = context.scene.bm3d_appearance
        panel_hints.draw(layout, context.scene, "BM3D_PT_appearance")
        row = layout.row(align=True)
        row.prop(settings, "seed")
        row.prop(settings, "same_look", text="Same Look")
        op = layout.operator(appearance.BM3D_OT_vary_appearance.bl_idname, icon="MATERIAL")
        pass_settings(op, settings, appearance.appearance_settings())
        column = layout.column(align=True)
        for armature in scene_model.people(context.scene):
            look = armature.get(appearance.LOOK)
            text = look["summary"] if look is not None else "its own materials"
            column.label(text=armature.name, icon="USER")
            column.label(text=f"    {text}")


class BM3D_PT_environment(SubPanel, bpy.types.Panel):
    bl_idname = "BM3D_PT_environment"
    bl_label = "Environment & Lighting"
    bl_order = 35

    def draw(self, context):
        layout = self.layout
        settings = context.scene.bm3d_environment
        panel_hints.draw(layout, context.scene, "BM3D_PT_environment")
        labelled(layout, settings, "kind")
        labelled(layout, settings, "lighting")
        layout.prop(settings, "seed")
        row = layout.row(align=True)
        op = row.operator(environments.BM3D_OT_add_environment.bl_idname, icon="WORLD")
        pass_settings(op, settings, environments.environment_settings())
        row.operator(environments.BM3D_OT_clear_environment.bl_idname, text="", icon="TRASH")
        if settings.lighting != "AUTO":
            op = layout.operator(environments.BM3D_OT_relight.bl_idname, icon="LIGHT_AREA")
            op.preset, op.seed = settings.lighting, settings.seed
        stored = environments.stored_layout(context.scene)
        if stored is not None:
            label = environments.layout_core.KINDS[stored["kind"]][0]
            n_parts = len(environments.parts(context.scene))
            n_lights = len(environments.lighting.lights(context.scene))
            counts = f"{n_parts} parts, {n_lights} lights"
            layout.label(text=f"{label}: {counts}", icon="SCENE_DATA")
        for name in environments.cameras_outside(context.scene):
            label_wrapped(layout, f"{name} is outside the walls: build again", icon="ERROR")


class BM3D_PT_occluders(SubPanel, bpy.types.Panel):
    bl_idname = "BM3D_PT_occluders"
    bl_label = "Occluders & Scenario"
    bl_order = 30

    def draw(self, context):
        layout = self.layout
        props = context.scene.bm3d_occluders
        panel_hints.draw(layout, context.scene, "BM3D_PT_occluders")
        layout.prop(props, "kind")
        layout.prop(props, "placement", text="")  # its choices say what it is
        col = layout.column(align=True)
        col.prop(props, "person_index")
        if props.placement == "BETWEEN":
            col.prop(props, "camera_index")
            col.prop(props, "fraction")
        else:
            for name in ("count", "radius_min", "radius_max", "seed"):
                col.prop(props, name)
        col = layout.column(align=True)
        sizes = ("width", "depth", "height")
        for name in sizes:  # 0 means the kind's own size: say so, and give it
            col.prop(props, name, **({"text": f"{name.title()} (default)"}
                                     if getattr(props, name) == 0 else {}))  # fmt: skip
        if any(getattr(props, name) == 0 for name in sizes):
            shape = occluder_library.KINDS[props.kind.lower()]
            size = " x ".join(f"{getattr(shape, name):g}" for name in sizes)
            col.label(text=f"Default: {size} m", icon="INFO")
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
        panel_hints.draw(layout, context.scene, "BM3D_PT_cameras")
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


def shares_text(shares):
    """('hidden 23 %', 'object 12, self 9, out 2'): the total, then the types above zero,
    largest first (two lines: one would be cut short at the sidebar's default width)."""
    hidden = budget_core.hidden_share(shares, budget_core.HIDDEN)
    parts = sorted(((shares[c], _SHORT[LABEL_NAMES[c]]) for c in range(N_TYPES)
                    if c != OcclusionType.VISIBLE and shares[c] > 0), reverse=True)  # fmt: skip
    detail = ", ".join(f"{name} {share * 100:.0f}" for share, name in parts)
    return f"hidden {hidden * 100:.0f} %", detail


class BM3D_PT_occlusion(SubPanel, bpy.types.Panel):
    bl_idname = "BM3D_PT_occlusion"
    bl_label = "Occlusion"
    bl_order = 45

    def draw(self, context):
        layout = self.layout
        scene = context.scene
        settings = scene.bm3d_overlay
        cameras = scene_model.dataset_cameras(scene)
        panel_hints.draw(layout, scene, "BM3D_PT_occlusion")
        row = layout.row(align=True)
        row.prop(settings, "show", toggle=True, icon="HIDE_OFF" if settings.show else "HIDE_ON")
        row.operator(
            occlusion_ops.BM3D_OT_refresh_occlusion.bl_idname, text="", icon="FILE_REFRESH"
        )
        split = layout.split(factor=0.45)
        split.prop(settings, "camera")
        name = cameras[settings.camera].name if settings.camera < len(cameras) else "none"
        split.label(text=name, icon="CAMERA_DATA")
        if settings.show and LIVE.message:
            label_wrapped(layout, LIVE.message, icon="ERROR")
        elif settings.show and settings.camera in LIVE.types:
            total, detail = shares_text(budget_core.type_shares(LIVE.types[settings.camera][None]))
            layout.label(text=f"Frame {LIVE.frame}: {total}")
            if detail:
                layout.label(text=f"    {detail}")
        draw_budget(layout, settings, cameras)


def draw_budget(layout, settings, cameras):
    """The budget box: progress, each camera's shares and jump button, targets met or not."""
    box = layout.box()
    row = box.row(align=True)
    row.label(text="Budget" + (f" of {LIVE.budget_action}" if LIVE.budget_action else ""))
    row.prop(settings, "live_budget", text="Live")
    progress = LIVE.progress
    if progress is not None:
        row = box.row(align=True)
        done, total = progress
        row.progress(factor=done / max(total, 1), text=f"Frame {done} of {total}")
        row.operator(occlusion_ops.BM3D_OT_cancel_budget.bl_idname, text="", icon="X")
    else:
        box.operator(occlusion_ops.BM3D_OT_compute_budget.bl_idname, icon="PLAY")
    if LIVE.budget_message:
        label_wrapped(box, LIVE.budget_message, icon="ERROR")
    try:
        targets = budget_core.parse_targets(settings.targets, len(cameras))
        target_error = None
    except ValueError as exc:
        targets, target_error = [], str(exc)
    if not LIVE.budget and progress is None and not LIVE.budget_message:
        box.label(text="Compute it for each camera", icon="INFO")
    for camera, budget in sorted(LIVE.budget.items()):
        name = cameras[camera].name if camera < len(cameras) else f"Camera {camera}"
        total, detail = shares_text(budget.shares)
        row = box.row(align=True)
        row.label(text=f"{name}: {total}")
        op = row.operator(
            occlusion_ops.BM3D_OT_jump_to_worst_frame.bl_idname, text="", icon="NEXT_KEYFRAME"
        )
        op.camera = camera
        if detail:
            box.label(text=f"    {detail}")
        for target in (t for t in targets if t.camera == camera):
            met = target.met(budget.shares)
            share = budget_core.hidden_share(budget.shares, target.code) * 100
            box.label(text=f"  {target.type_name} {share:.0f} % in "
                      f"{target.low * 100:g}-{target.high * 100:g}",
                      icon="CHECKMARK" if met else "CANCEL")  # fmt: skip
    if LIVE.budget_stale and LIVE.budget:
        box.label(text="The scene changed since", icon="TIME")
    box.prop(settings, "targets", text="", icon="TRACKER")
    if target_error:
        label_wrapped(box, target_error, icon="ERROR")


def draw_export_choices(layout, scene, props):
    """Checkbox lists, or a one-line hint of what to do first."""
    cameras = scene_model.dataset_cameras(scene)
    panel_hints.draw(layout, scene, "BM3D_PT_export")
    for kind, label, _ in export_choices.KINDS:
        items = export_choices.available(scene, kind)
        if not items:
            continue
        picked = set(export_choices.chosen(props, scene, kind))
        col = layout.column(heading=label, align=True)
        grid = col.grid_flow(columns=2 if kind == "ACTIONS" else 4, even_columns=True, align=True)
        for item in items:
            text = item if kind == "ACTIONS" else cameras[int(item)].name.replace("Camera_", "")
            icon = "CHECKBOX_HLT" if item in picked else "CHECKBOX_DEHLT"
            toggle = export_choices.BM3D_OT_toggle_export_choice.bl_idname
            op = grid.operator(toggle, text=text, icon=icon, emboss=False)
            op.kind, op.item = kind, item


class BM3D_PT_export(SubPanel, bpy.types.Panel):
    bl_idname = "BM3D_PT_export"
    bl_label = "Export"
    bl_order = 50

    def draw(self, context):
        layout = self.layout
        props = context.scene.bm3d_export
        for name in ("directory", "subject", "overwrite"):
            layout.prop(props, name)
        scene = context.scene
        draw_export_choices(layout, scene, props)  # actions and cameras as checkboxes
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
        box = layout.box()  # frames rendered from the scene; the COCO files need only a dataset
        panel_hints.draw(box, context.scene, "BM3D_PT_coco")
        labelled(box, frames, "directory")
        for name in ("preset", "samples", "scale", "masks", "depth"):
            box.prop(frames, name)
        if frames.depth:
            labelled(box, frames, "depth_format")
        box.prop(frames, "overwrite")
        op = box.operator(coco_ops.BM3D_OT_render_frames.bl_idname, icon="RENDER_STILL")
        pass_settings(op, frames, coco_ops.FrameSettings.__annotations__)
        box = layout.box()
        labelled(box, settings, "directory")
        labelled(box, settings, "out")
        for name in ("every", "cameras", "split"):
            box.prop(settings, name)
        box.prop(settings, "layouts")
        box.prop(settings, "overwrite")
        op = box.operator(coco_ops.BM3D_OT_export_coco.bl_idname, icon="EXPORT")
        pass_settings(op, settings, coco_ops.CocoSettings.__annotations__)
        box.label(text="Face points:", icon="INFO")
        half = (len(coco.FACE_POINTS) + 1) // 2  # two lines: one is too wide for the sidebar
        for names in (coco.FACE_POINTS[:half], coco.FACE_POINTS[half:]):
            box.label(text=f"    {', '.join(names)}")


class BM3D_PT_videos(SubPanel, bpy.types.Panel):
    bl_idname = "BM3D_PT_videos"
    bl_label = "Videos"
    bl_order = 55

    def draw(self, context):
        layout = self.layout
        settings = context.scene.bm3d_videos
        panel_hints.draw(layout, context.scene, "BM3D_PT_videos")
        labelled(layout, settings, "directory")
        layout.prop(settings, "preset")
        for note in render_presets.notes(settings.preset):
            label_wrapped(layout, note, icon="INFO")
        col = layout.column(align=True)
        col.prop(settings, "samples")
        col.prop(settings, "scale")
        row = layout.row(align=True)
        row.prop(settings, "write_videos")
        row.prop(settings, "qa_video")
        labelled(layout, settings, "image_sequence")
        layout.prop(settings, "overwrite")
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
        labelled(col, settings, "joint_order")
        op = col.operator(refine_ops.BM3D_OT_import_predictions.bl_idname, icon="IMPORT")
        op.joint_order = settings.joint_order
        panel_hints.draw(layout, context.scene, "BM3D_PT_refiner")
        labelled(layout, settings, "ground_truth")
        if settings.ground_truth == "DATASET":
            box = layout.column(align=True)
            labelled(box, settings, "gt_folder")
            box.prop(settings, "gt_action")
            box.prop(settings, "gt_camera")
        elif settings.ground_truth == "SCENE":
            layout.prop(settings, "gt_camera")
        labelled(layout, settings, "confidence_path")
        row = layout.row(align=True)
        row.operator(refine_ops.BM3D_OT_refine_predictions.bl_idname, icon="MOD_SMOOTH",
                     text="Refine")  # fmt: skip
        row.operator(refine_ops.BM3D_OT_export_refined.bl_idname, icon="EXPORT", text="Export")
        if settings.results:
            _draw_results(layout, settings, json.loads(settings.results))


def _draw_results(layout, settings, report):
    box = layout.box()
    frames, total = report["frames"], report.get("total", report["frames"])
    box.label(text=report["source"], icon="ARMATURE_DATA")
    box.label(text=f"{frames} of {total} frames counted")
    if frames < total:
        box.label(text=f"{total - frames} frames with missing joints left out", icon="INFO")
    before, after = report["before"], report["after"]
    rows = [("Jitter", "jitter_mm"), ("Bone Spread", "bone_std_mm")]
    if "mpjpe" in before:
        rows = [("MPJPE", "mpjpe"), ("P-MPJPE", "p_mpjpe"), *rows]
    if "occluded" in before:
        rows += [("Occluded", "occluded"), ("Visible", "visible"), ("P Occluded", "p_occluded")]
    table = box.column(align=True)
    _table_row(table, "mm", "Before", "After")
    for label, key in rows:
        _table_row(table, label, f"{before.get(key, float('nan')):.1f}",
                   f"{after.get(key, float('nan')):.1f}")  # fmt: skip
    if "occluded_share" in report:
        box.label(text=f"Occluded joints: {100 * report['occluded_share']:.1f} %")
    if "per_joint" not in before:
        return
    box.prop(settings, "show_per_joint")
    if settings.show_per_joint:
        names = JOINT_SETS["blendmimic3d"]
        table = box.column(align=True)
        for name, b, a in zip(names, before["per_joint"], after["per_joint"], strict=True):
            _table_row(table, name, f"{b:.1f}", f"{a:.1f}")
    image = bpy.data.images.get(refine_job.PLOT_NAME)
    if image is not None:
        top = image.get("bm3d_plot_top_mm", 0.0)
        box.label(text=f"Error over time, 0-{top:.0f} mm:")
        box.label(text="    red before, green after")
        box.template_icon(icon_value=image.preview_ensure().icon_id, scale=8.0)
        box.label(text=f"Image '{refine_job.PLOT_NAME}'")
        box.label(text="    (open it in an Image Editor)")


def _table_row(layout, name, before, after):
    """One row of a results table: the name in half the width (joint names are long), the two
    numbers in a quarter each (a grid flow would fill it column by column)."""
    split = layout.split(factor=0.5, align=True)
    split.label(text=name)
    numbers = split.split(factor=0.5, align=True)
    numbers.label(text=before)
    numbers.label(text=after)


def draw_overlay_popover(self, context):
    """A line in the viewport's Overlays popover, where artists look for overlays."""
    settings = getattr(context.scene, "bm3d_overlay", None)
    if settings is not None:
        row = self.layout.row(align=True)
        row.prop(settings, "show", text="BlendMimic3D Occlusion")
        row.prop(settings, "camera", text="")


class BM3D_PT_batch(SubPanel, bpy.types.Panel):
    bl_idname = "BM3D_PT_batch"
    bl_label = "Batch"
    bl_order = 70
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        props = context.scene.bm3d_batch
        panel_hints.draw(layout, context.scene, "BM3D_PT_batch")
        layout.prop(props, "recipe")
        row = layout.row(align=True)
        row.prop(props, "subject_index")
        op = row.operator(batch_ops.BM3D_OT_batch_preview.bl_idname, icon="HIDE_OFF")
        pass_settings(op, props, ("recipe", "subject_index"))
        layout.prop(props, "directory")
        layout.prop(props, "subjects")
        op = layout.operator(batch_ops.BM3D_OT_batch_generate.bl_idname, icon="RENDER_ANIMATION")
        pass_settings(op, props, ("recipe", "directory", "subjects"))


CLASSES = (
    BM3D_PT_main,
    BM3D_PT_characters,
    BM3D_UL_people,
    BM3D_PT_people,
    BM3D_PT_appearance,
    BM3D_PT_environment,
    BM3D_PT_occluders,
    BM3D_PT_cameras,
    BM3D_PT_occlusion,
    BM3D_PT_export,
    BM3D_PT_coco,
    BM3D_PT_videos,
    BM3D_PT_refiner,
    BM3D_PT_batch,
)
_register_classes, _unregister_classes = classes_and_scene_settings(CLASSES)


def register():
    _register_classes()
    bpy.types.VIEW3D_PT_overlay.append(draw_overlay_popover)


def unregister():
    bpy.types.VIEW3D_PT_overlay.remove(draw_overlay_popover)
    _unregister_classes()
