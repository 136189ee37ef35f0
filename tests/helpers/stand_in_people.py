"""A minimal person for Blender tests: a tagged armature with the 17 Mixamo joint bones.

It stands at the origin facing -Y, 1.8 m tall, arms out; an optional walk moves it along x over
the scene's frame range so that fits and out-of-frame checks have motion to cover.
"""

import bpy

# Head positions (metres) of the 17 joints of a person standing at the origin, facing -Y.
JOINTS = {
    "Hips": (0.0, 0.0, 1.0),
    "LeftUpLeg": (0.1, 0.0, 0.95),
    "LeftLeg": (0.1, 0.0, 0.5),
    "LeftFoot": (0.1, 0.0, 0.08),
    "RightUpLeg": (-0.1, 0.0, 0.95),
    "RightLeg": (-0.1, 0.0, 0.5),
    "RightFoot": (-0.1, 0.0, 0.08),
    "Spine1": (0.0, 0.0, 1.2),
    "Neck": (0.0, 0.0, 1.5),
    "Head": (0.0, 0.0, 1.6),
    "HeadTop_End": (0.0, 0.0, 1.8),
    "RightArm": (-0.2, 0.0, 1.45),
    "RightForeArm": (-0.45, 0.0, 1.45),
    "RightHand": (-0.7, 0.0, 1.45),
    "LeftArm": (0.2, 0.0, 1.45),
    "LeftForeArm": (0.45, 0.0, 1.45),
    "LeftHand": (0.7, 0.0, 1.45),
}


def add_person(scene, index=0, location=(0.0, 0.0, 0.0), walk=None, prefix="mixamorig:"):
    """A tagged person armature; ``walk`` = (dx, dy) moves it that far over the frame range."""
    data = bpy.data.armatures.new(f"StandIn_{index}")
    obj = bpy.data.objects.new(f"StandIn_{index}", data)
    scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    for name, head in JOINTS.items():
        bone = data.edit_bones.new(prefix + name)
        bone.head = head
        bone.tail = (head[0], head[1] + 0.05, head[2])
    bpy.ops.object.mode_set(mode="OBJECT")
    obj.location = location
    obj["bm3d_role"] = "person"
    obj["bm3d_person_index"] = index
    if walk is not None:
        obj.keyframe_insert("location", frame=scene.frame_start)
        obj.location = (location[0] + walk[0], location[1] + walk[1], location[2])
        obj.keyframe_insert("location", frame=scene.frame_end)
        scene.frame_set(scene.frame_start)
    return obj
