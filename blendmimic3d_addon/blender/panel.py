"""The "BlendMimic3D" sidebar tab of the 3D Viewport. Feature panels hang below this one."""

import bpy

from .. import __version__

CATEGORY = "BlendMimic3D"


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


def register():
    bpy.utils.register_class(BM3D_PT_main)


def unregister():
    bpy.utils.unregister_class(BM3D_PT_main)
