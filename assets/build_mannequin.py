"""Build ``assets/mannequin.blend``: BlendMimic3D's own character, which needs no Mixamo account.

Run with ``.venv/bin/python assets/build_mannequin.py`` (or ``blender -b --python`` this file;
``-- OUT.blend`` writes elsewhere). Save the committed file with the oldest Blender at hand: a
file saved by 5.0 cannot be opened before 4.5 (the committed one is from Blender 4.3). It writes,
all from the data below and nothing else:

- ``Mannequin``: an armature with Mixamo's 65-bone rig, the same bone names (``mixamorig:``
  prefix), hierarchy, rest pose (scaled to 1.75 m) and rolls as a real Mixamo character, the object
  transform an imported Mixamo FBX gets (centimetres, scaled 0.01, turned 90 degrees about X), so
  Mixamo actions play on it unchanged and its actions play on Mixamo characters;
- ``Mannequin_Body``: rigid, skinned body segments (one vertex group per bone), each a closed
  capsule wound outwards (normals point out), so the body occludes itself in renders and
  occlusion labels; the character's left side is tinted;
- four procedural actions at 30 fps, every bone keyed: ``Walk`` (97 frames, three gait cycles
  walking 4 m forward; its last frame repeats its first pose), ``Wave`` (90 frames, the right
  hand, marked cyclic), ``Sit`` (120 frames: sit down to seat height, stay, stand up) and
  ``PickUp`` (100 frames: squat and reach the floor, stand up). Wave, Sit and PickUp start and end
  in the same relaxed standing pose.
"""

# ruff: noqa: E501 (the bone table below keeps one bone per line)

import math
import os
import pathlib
import sys

import bpy
from mathutils import Quaternion, Vector

OUT = pathlib.Path(__file__).resolve().parent / "mannequin.blend"
NAME = "Mannequin"
BODY = "Mannequin_Body"
PREFIX = "mixamorig:"
FPS = 30
# The rest pose below is a real Mixamo character 1.82 m to the head top; the mannequin is 1.75 m.
SCALE = 0.96
# Keys every KEY_STEP frames (Bezier in between) keep the file small.
KEY_STEP = 2

# Mixamo's rig as its FBX imports into Blender: name, parent, head, tail (armature space,
# centimetres, Y up, the character faces +Z, its left is +X) and roll in radians.
# fmt: off
BONES = (
    ("Hips", None, (0.0, 104.275, 1.554), (0.0, 114.833, 1.691), 0.0),
    ("Spine", "Hips", (0.0, 114.456, 1.686), (0.0, 124.35, 0.215), 0.0),
    ("Spine1", "Spine", (0.0, 124.35, 0.215), (0.0, 133.571, -1.156), 0.0),
    ("Spine2", "Spine1", (0.0, 133.571, -1.156), (0.0, 147.171, -2.82), 0.0),
    ("Neck", "Spine2", (0.0, 150.312, -3.205), (0.0, 160.004, -4.391), 0.0),
    ("Head", "Neck", (0.0, 159.929, -1.52), (0.0, 183.036, -4.348), 0.0),
    ("HeadTop_End", "Head", (0.0, 181.967, 5.982), (0.0, 205.073, 3.153), 0.0),
    ("RightShoulder", "Spine2", (-4.57, 144.586, -3.316), (-15.163, 144.061, -5.549), -1.7887),
    ("RightArm", "RightShoulder", (-15.163, 144.061, -5.549), (-43.004, 144.061, -5.548), -1.5708),
    ("RightForeArm", "RightArm", (-43.004, 144.061, -5.549), (-71.333, 144.061, -5.549), -1.5708),
    ("RightHand", "RightForeArm", (-71.333, 144.061, -5.548), (-79.56, 144.061, -5.548), -1.5708),
    ("RightHandThumb1", "RightHand", (-73.798, 142.487, -2.867), (-77.013, 140.615, -0.942), -0.77),
    ("RightHandThumb2", "RightHandThumb1", (-77.013, 140.615, -0.942), (-79.668, 139.087, 0.57), -0.8034),
    ("RightHandThumb3", "RightHandThumb2", (-79.668, 139.087, 0.57), (-81.687, 137.935, 1.678), -0.828),
    ("RightHandThumb4", "RightHandThumb3", (-81.687, 137.935, 1.678), (-83.575, 136.789, 3.003), -0.9052),
    ("RightHandIndex1", "RightHand", (-80.441, 143.543, -3.289), (-84.141, 143.543, -3.287), -1.5705),
    ("RightHandIndex2", "RightHandIndex1", (-84.141, 143.543, -3.287), (-86.991, 143.543, -3.288), -1.571),
    ("RightHandIndex3", "RightHandIndex2", (-86.991, 143.543, -3.288), (-89.764, 143.543, -3.288), -1.5708),
    ("RightHandIndex4", "RightHandIndex3", (-89.764, 143.543, -3.288), (-92.536, 143.543, -3.288), -1.569),
    ("RightHandMiddle1", "RightHand", (-80.866, 144.061, -5.549), (-84.566, 144.061, -5.545), -1.5698),
    ("RightHandMiddle2", "RightHandMiddle1", (-84.566, 144.061, -5.545), (-87.516, 144.061, -5.547), -1.5715),
    ("RightHandMiddle3", "RightHandMiddle2", (-87.516, 144.061, -5.547), (-90.462, 144.061, -5.547), -1.5708),
    ("RightHandMiddle4", "RightHandMiddle3", (-90.462, 144.061, -5.547), (-93.409, 144.061, -5.548), -1.5693),
    ("RightHandRing1", "RightHand", (-80.437, 144.018, -7.414), (-83.816, 144.018, -7.415), -1.5711),
    ("RightHandRing2", "RightHandRing1", (-83.816, 144.018, -7.415), (-86.706, 144.018, -7.414), -1.5707),
    ("RightHandRing3", "RightHandRing2", (-86.706, 144.018, -7.414), (-89.345, 144.018, -7.413), -1.5704),
    ("RightHandRing4", "RightHandRing3", (-89.345, 144.018, -7.413), (-91.983, 144.018, -7.408), -1.5685),
    ("RightHandPinky1", "RightHand", (-79.41, 143.575, -9.355), (-83.01, 143.575, -9.359), -1.5718),
    ("RightHandPinky2", "RightHandPinky1", (-83.01, 143.575, -9.359), (-85.11, 143.575, -9.364), -1.5735),
    ("RightHandPinky3", "RightHandPinky2", (-85.11, 143.575, -9.364), (-87.226, 143.575, -9.368), -1.5725),
    ("RightHandPinky4", "RightHandPinky3", (-87.226, 143.575, -9.368), (-89.341, 143.574, -9.371), -1.5693),
    ("LeftShoulder", "Spine2", (4.57, 144.586, -3.316), (15.163, 144.061, -5.548), 1.7887),
    ("LeftArm", "LeftShoulder", (15.163, 144.061, -5.548), (43.004, 144.061, -5.548), 1.5708),
    ("LeftForeArm", "LeftArm", (43.004, 144.061, -5.548), (71.333, 144.061, -5.548), 1.5708),
    ("LeftHand", "LeftForeArm", (71.333, 144.061, -5.548), (79.561, 144.061, -5.548), 1.5708),
    ("LeftHandThumb1", "LeftHand", (73.799, 142.485, -2.867), (77.017, 140.613, -0.95), 0.7734),
    ("LeftHandThumb2", "LeftHandThumb1", (77.017, 140.613, -0.95), (79.673, 139.084, 0.564), 0.8029),
    ("LeftHandThumb3", "LeftHandThumb2", (79.673, 139.084, 0.564), (81.694, 137.93, 1.679), 0.8246),
    ("LeftHandThumb4", "LeftHandThumb3", (81.694, 137.93, 1.679), (83.603, 136.779, 2.98), 0.9351),
    ("LeftHandIndex1", "LeftHand", (80.442, 143.543, -3.289), (84.142, 143.543, -3.289), 1.5709),
    ("LeftHandIndex2", "LeftHandIndex1", (84.142, 143.543, -3.289), (86.992, 143.543, -3.289), 1.5707),
    ("LeftHandIndex3", "LeftHandIndex2", (86.992, 143.543, -3.289), (89.767, 143.543, -3.289), 1.5708),
    ("LeftHandIndex4", "LeftHandIndex3", (89.767, 143.543, -3.289), (92.542, 143.543, -3.289), 1.5701),
    ("LeftHandMiddle1", "LeftHand", (80.867, 144.061, -5.548), (84.567, 144.061, -5.549), 1.5709),
    ("LeftHandMiddle2", "LeftHandMiddle1", (84.567, 144.061, -5.549), (87.517, 144.061, -5.549), 1.5708),
    ("LeftHandMiddle3", "LeftHandMiddle2", (87.517, 144.061, -5.549), (90.469, 144.061, -5.549), 1.5708),
    ("LeftHandMiddle4", "LeftHandMiddle3", (90.469, 144.061, -5.549), (93.422, 144.061, -5.548), 1.5687),
    ("LeftHandRing1", "LeftHand", (80.438, 144.018, -7.414), (83.588, 144.018, -7.413), 1.5708),
    ("LeftHandRing2", "LeftHandRing1", (83.588, 144.018, -7.413), (86.538, 144.018, -7.413), 1.5708),
    ("LeftHandRing3", "LeftHandRing2", (86.538, 144.018, -7.413), (89.182, 144.018, -7.413), 1.5708),
    ("LeftHandRing4", "LeftHandRing3", (89.182, 144.018, -7.413), (91.826, 144.018, -7.413), 1.5717),
    ("LeftHandPinky1", "LeftHand", (79.411, 143.574, -9.355), (83.011, 143.574, -9.34), 1.5667),
    ("LeftHandPinky2", "LeftHandPinky1", (83.011, 143.574, -9.34), (85.111, 143.574, -9.332), 1.5671),
    ("LeftHandPinky3", "LeftHandPinky2", (85.111, 143.574, -9.332), (87.236, 143.574, -9.325), 1.5673),
    ("LeftHandPinky4", "LeftHandPinky3", (87.236, 143.574, -9.325), (89.362, 143.574, -9.319), 1.5663),
    ("RightUpLeg", "Hips", (-8.208, 97.523, -0.045), (-8.208, 53.153, 0.301), 3.1416),
    ("RightLeg", "RightUpLeg", (-8.208, 53.153, 0.301), (-8.208, 8.729, -2.743), 3.1416),
    ("RightFoot", "RightLeg", (-8.208, 8.729, -2.743), (-8.208, 0.001, 7.968), 3.1416),
    ("RightToeBase", "RightFoot", (-8.208, 0.001, 7.968), (-8.208, 0.0, 17.246), 3.1416),
    ("RightToe_End", "RightToeBase", (-8.208, 0.0, 17.246), (-8.208, -0.001, 26.524), -3.1184),
    ("LeftUpLeg", "Hips", (8.208, 97.523, -0.045), (8.208, 53.153, 0.302), 3.1416),
    ("LeftLeg", "LeftUpLeg", (8.208, 53.153, 0.302), (8.208, 8.729, -2.743), -3.1416),
    ("LeftFoot", "LeftLeg", (8.208, 8.729, -2.743), (8.208, 0.001, 7.968), 3.1416),
    ("LeftToeBase", "LeftFoot", (8.208, 0.001, 7.968), (8.208, 0.0, 17.246), 3.1416),
    ("LeftToe_End", "LeftToeBase", (8.208, 0.0, 17.246), (8.208, -0.001, 26.524), 3.1179),
)
# fmt: on

FINGERS = ("Thumb", "Index", "Middle", "Ring", "Pinky")


def _head(name):
    return Vector(_BONE[name][2]) * SCALE


def _at(x, y, z):
    return Vector((x, y, z)) * SCALE


_BONE = {b[0]: b for b in BONES}


# --- body ----------------------------------------------------------------------------------------


def body_segments():
    """(bone, start, end, start radius, end radius, cap length, wide axis or None, depth ratio):
    capsules in armature space (cm); a wide axis makes an elliptic section (torso, palms)."""
    X, Z = Vector((1, 0, 0)), Vector((0, 0, 1))
    s = SCALE
    segs = [
        ("Hips", _at(0, 91, 1), _at(0, 109, 1), 15 * s, 14 * s, 5 * s, X, 0.65),
        ("Spine", _at(0, 112, 1.5), _at(0, 124, 0.2), 13.5 * s, 14 * s, 3 * s, X, 0.65),
        ("Spine1", _at(0, 125, 0), _at(0, 133, -1), 14.5 * s, 15 * s, 3 * s, X, 0.65),
        ("Spine2", _at(0, 134, -1.2), _at(0, 146, -3), 16 * s, 15 * s, 5 * s, X, 0.62),
        ("Neck", _head("Neck"), _head("Head"), 5.5 * s, 5 * s, 3 * s, None, 1.0),
        ("Head", _at(0, 168, 1.5), _at(0, 174, 1.5), 9.5 * s, 9 * s, 8.5 * s, X, 1.15),
        ("Head", _at(0, 168, 9), _at(0, 168, 12), 1.6 * s, 1.2 * s, 1 * s, None, 1.0),  # nose
    ]
    for side, sign in (("Left", 1), ("Right", -1)):
        b = side
        segs += [
            (
                b + "Shoulder",
                _head(b + "Shoulder"),
                _head(b + "Arm"),
                5.5 * s,
                5.5 * s,
                4 * s,
                None,
                1,
            ),
            (b + "Arm", _head(b + "Arm"), _head(b + "ForeArm"), 5 * s, 4.2 * s, 4.5 * s, None, 1),
            (
                b + "ForeArm",
                _head(b + "ForeArm"),
                _head(b + "Hand"),
                4 * s,
                3.2 * s,
                3.5 * s,
                None,
                1,
            ),
            (b + "Hand", _head(b + "Hand"), _head(b + "HandMiddle1"), 4 * s, 4 * s, 2 * s, Z, 0.45),
            (b + "UpLeg", _head(b + "UpLeg"), _head(b + "Leg"), 8 * s, 6 * s, 6 * s, None, 1),
            (b + "Leg", _head(b + "Leg"), _head(b + "Foot"), 5.5 * s, 4.2 * s, 4.5 * s, None, 1),
            (
                b + "Foot",
                _at(sign * 8.2, 5, -4),
                _at(sign * 8.2, 4.5, 8),
                4.5 * s,
                4.2 * s,
                4 * s,
                None,
                1,
            ),
            (
                b + "ToeBase",
                _at(sign * 8.2, 3, 8.5),
                _at(sign * 8.2, 3, 16),
                3.5 * s,
                3 * s,
                3 * s,
                None,
                1,
            ),
        ]
        for finger in FINGERS:
            radius = (1.2 if finger == "Thumb" else 0.9) * s
            for k in (1, 2, 3):
                bone = f"{b}Hand{finger}{k}"
                segs.append(
                    (
                        bone,
                        _head(bone),
                        _head(f"{b}Hand{finger}{k + 1}"),
                        radius,
                        radius,
                        radius,
                        None,
                        1,
                    )
                )
    return segs


def capsule(a, b, r0, r1, cap, wide, depth, sides):
    """Vertices and faces (local indices) of a closed capsule from ``a`` to ``b``."""
    axis = b - a
    length = axis.length
    y = axis / length
    ref = wide if wide is not None else (Vector((0, 0, 1)) if abs(y.z) < 0.9 else Vector((1, 0, 0)))
    x = (ref - y * ref.dot(y)).normalized()
    z = x.cross(y)
    # (distance along the axis from a, radius) for each ring; poles added separately.
    rings = [(-cap * math.cos(p), r0 * math.sin(p)) for p in (math.pi / 6, math.pi / 3)]
    rings += [(0.0, r0), (length, r1)]
    rings += [(length + cap * math.cos(p), r1 * math.sin(p)) for p in (math.pi / 3, math.pi / 6)]
    verts = [a - y * cap]
    for along, radius in rings:
        for k in range(sides):
            t = 2 * math.pi * k / sides
            verts.append(
                a + y * along + x * (radius * math.cos(t)) + z * (radius * depth * math.sin(t))
            )
    verts.append(b + y * cap)
    # Every face counter-clockwise seen from outside (along the axis first, then round the
    # ring), so normals point out: culling, shading and the occlusion rays see the outside.
    faces = []
    top = len(verts) - 1
    for k in range(sides):
        faces.append((0, 1 + k, 1 + (k + 1) % sides))
    for r in range(len(rings) - 1):
        lo, hi = 1 + r * sides, 1 + (r + 1) * sides
        for k in range(sides):
            k1 = (k + 1) % sides
            faces.append((lo + k, hi + k, hi + k1, lo + k1))
    last = 1 + (len(rings) - 1) * sides
    for k in range(sides):
        faces.append((last + (k + 1) % sides, last + k, top))
    return verts, faces


def build_body(armature):
    verts, faces, groups, left_faces = [], [], {}, []
    for bone, a, b, r0, r1, cap, wide, depth in body_segments():
        sides = 6 if r0 < 2 else 12
        seg_verts, seg_faces = capsule(a, b, r0, r1, cap, wide, depth, sides)
        base = len(verts)
        groups.setdefault(PREFIX + bone, []).extend(range(base, base + len(seg_verts)))
        is_left = bone.startswith("Left")
        for face in seg_faces:
            left_faces.append(is_left)
            faces.append(tuple(base + i for i in face))
        verts.extend(seg_verts)
    mesh = bpy.data.meshes.new(BODY)
    mesh.from_pydata([tuple(v) for v in verts], [], faces)
    mesh.materials.append(_material("Mannequin_Skin", (0.62, 0.62, 0.6, 1.0)))
    mesh.materials.append(_material("Mannequin_Left", (0.42, 0.55, 0.72, 1.0)))
    mesh.polygons.foreach_set("material_index", [1 if left else 0 for left in left_faces])
    mesh.polygons.foreach_set("use_smooth", [True] * len(faces))
    mesh.update()
    body = bpy.data.objects.new(BODY, mesh)
    for name, indices in groups.items():
        body.vertex_groups.new(name=name).add(indices, 1.0, "REPLACE")
    body.parent = armature
    modifier = body.modifiers.new("Armature", "ARMATURE")
    modifier.object = armature
    return body


def _material(name, colour):
    material = bpy.data.materials.new(name)
    material.diffuse_color = colour
    if material.node_tree is None:  # Blender before 5.0 makes materials without nodes
        material.use_nodes = True
    material.node_tree.nodes["Principled BSDF"].inputs["Base Color"].default_value = colour
    return material


# --- rig -----------------------------------------------------------------------------------------


def build_armature(scene):
    data = bpy.data.armatures.new(NAME)
    armature = bpy.data.objects.new(NAME, data)
    scene.collection.objects.link(armature)
    # The transform an imported Mixamo FBX has: centimetres in a Y-up space, to metres and Z up.
    armature.rotation_mode = "XYZ"
    armature.rotation_euler = (math.radians(90), 0, 0)
    armature.scale = (0.01, 0.01, 0.01)
    bpy.context.view_layer.objects.active = armature
    bpy.ops.object.mode_set(mode="EDIT")
    for name, parent, head, tail, roll in BONES:
        bone = data.edit_bones.new(PREFIX + name)
        bone.head = Vector(head) * SCALE
        bone.tail = Vector(tail) * SCALE
        bone.roll = roll
        if parent is not None:
            bone.parent = data.edit_bones[PREFIX + parent]
    bpy.ops.object.mode_set(mode="OBJECT")
    for pose_bone in armature.pose.bones:
        pose_bone.rotation_mode = "QUATERNION"  # as Mixamo's import
    return armature


# --- actions -------------------------------------------------------------------------------------
# A pose is {bone: rotation} plus a hips offset. Each rotation is about armature-space axes (X is
# the character's left, Y up, Z forward), applied to the bone in its rest orientation and then
# carried along by its parent, so a pose reads like a description of the body.


def rx(deg):
    return Quaternion((1, 0, 0), math.radians(deg))


def ry(deg):
    return Quaternion((0, 1, 0), math.radians(deg))


def rz(deg):
    return Quaternion((0, 0, 1), math.radians(deg))


def smooth(t):
    t = min(max(t, 0.0), 1.0)
    return t * t * (3 - 2 * t)


def envelope(frame, up_from, up_to, down_from, down_to):
    """0 -> 1 between up_from and up_to, 1 -> 0 between down_from and down_to, smoothly."""
    if frame <= up_to:
        return smooth((frame - up_from) / (up_to - up_from))
    return 1.0 - smooth((frame - down_from) / (down_to - down_from))


def relaxed(left_swing=0.0, right_swing=0.0, forearm_flex=10.0):
    """Arms down by the sides (Mixamo's rest is a T-pose); a negative swing takes an arm forward."""
    return {
        "LeftArm": rx(left_swing) @ rz(-72),
        "RightArm": rx(right_swing) @ rz(72),
        "LeftForeArm": ry(-forearm_flex),
        "RightForeArm": ry(forearm_flex),
    }


WALK_CYCLE = 32  # frames per two steps (1.07 s)
WALK_STRIDE = 140.0  # cm per cycle: about 1.3 m/s


def walk(frame):
    p = 2 * math.pi * (frame - 1) / WALK_CYCLE
    s, c = math.sin(p), math.cos(p)
    pose = relaxed(20 * s, -20 * s, forearm_flex=15 + 10 * max(0.0, -s))
    pose.update(
        {
            "LeftUpLeg": rx(-22 * s),
            "RightUpLeg": rx(22 * s),
            "LeftLeg": rx(5 + 45 * max(0.0, c) ** 1.5),
            "RightLeg": rx(5 + 45 * max(0.0, -c) ** 1.5),
            "Hips": ry(-5 * s),
            "Spine1": ry(4 * s),
            "Spine2": ry(3 * s),
        }
    )
    offset = Vector((0.0, -3.0 * s * s, WALK_STRIDE * (frame - 1) / WALK_CYCLE))
    return pose, offset * SCALE


def wave(frame):
    w = envelope(frame, 1, 15, 75, 90)
    beat = math.sin(2 * math.pi * (frame - 15) / 20)
    pose = relaxed()
    pose["RightArm"] = rz(72 + (-55 - 72) * w)
    pose["RightForeArm"] = rz(-w * (35 + 25 * beat)) @ ry(10 * (1 - w))
    pose["Head"] = rz(4 * w)
    pose["Spine2"] = rz(3 * w)
    return pose, Vector((0, 0, 0))


def sit(frame):
    d = envelope(frame, 1, 35, 85, 120)
    pose = relaxed(-25 * d, -25 * d, forearm_flex=10 + 55 * d)
    for side in ("Left", "Right"):
        pose[side + "UpLeg"] = rx(-88 * d)
        pose[side + "Leg"] = rx(90 * d)
    pose["Spine"] = rx(6 * d)
    pose["Neck"] = rx(-4 * d)
    thigh = (Vector(_BONE["LeftUpLeg"][2]) - Vector(_BONE["LeftLeg"][2])).length * SCALE
    return pose, Vector((0.0, -thigh, -thigh)) * d


def pick_up(frame):
    d = envelope(frame, 1, 40, 55, 100)
    pose = relaxed(-85 * d, -85 * d, forearm_flex=10)
    for side in ("Left", "Right"):
        pose[side + "UpLeg"] = rx(-95 * d)
        pose[side + "Leg"] = rx(125 * d)
        pose[side + "Foot"] = rx(-30 * d)
    pose.update(
        {"Spine": rx(30 * d), "Spine1": rx(25 * d), "Spine2": rx(20 * d), "Neck": rx(-20 * d)}
    )
    # Hips down and back so the feet stay flat where they are (thigh and shin 42.6 cm).
    return pose, Vector((0.0, -52.0, -21.0)) * d


ACTIONS = (("Walk", walk, 97), ("Wave", wave, 90), ("Sit", sit, 120), ("PickUp", pick_up, 100))


def _new_action(name, armature):
    """An empty action and the collection to add its F-curves to (layered actions or legacy)."""
    action = bpy.data.actions.new(name)
    action.use_fake_user = True  # nobody plays it in the file; add_mannequin appends it by name
    action["bm3d_mannequin"] = name  # lets later mannequins share it instead of copying
    if hasattr(action, "layers"):  # Blender 4.4+
        slot = action.slots.new(id_type="OBJECT", name=armature.name)
        bag = action.layers.new("Layer").strips.new(type="KEYFRAME").channelbag(slot, ensure=True)
        return action, bag.fcurves, "group_name"
    return action, action.fcurves, "action_group"


def build_action(armature, name, pose_at, last_frame):
    rest = {b.name: b.matrix_local.to_quaternion() for b in armature.data.bones}
    frames = list(range(1, last_frame + 1, KEY_STEP))
    if frames[-1] != last_frame:
        frames.append(last_frame)
    samples = [pose_at(f) for f in frames]
    # Every bone is keyed, so that switching from another action leaves no stale pose behind.
    channels = {}
    for bone in _BONE:
        rest_q = rest[PREFIX + bone]
        previous = None
        keys = []
        for pose, _ in samples:
            q = rest_q.inverted() @ pose.get(bone, Quaternion()) @ rest_q
            if previous is not None and previous.dot(q) < 0:
                q.negate()  # the short way round between keys
            previous = q
            keys.append(tuple(q))
        channels[(bone, "rotation_quaternion")] = keys
    hips_rest = rest[PREFIX + "Hips"].to_matrix()
    channels[("Hips", "location")] = [tuple(hips_rest.inverted() @ off) for _, off in samples]

    action, fcurves, group_keyword = _new_action(name, armature)
    for (bone, prop), keys in channels.items():
        group = PREFIX + bone
        for index in range(len(keys[0])):
            values = [k[index] for k in keys]
            # A channel that never changes needs only its two end keys.
            constant = max(values) - min(values) < 1e-7
            kept = [0, len(frames) - 1] if constant else range(len(frames))
            fcurve = fcurves.new(
                f'pose.bones["{group}"].{prop}', index=index, **{group_keyword: group}
            )
            fcurve.keyframe_points.add(len(kept))
            fcurve.keyframe_points.foreach_set(
                "co", [v for i in kept for v in (frames[i], values[i])]
            )
            fcurve.update()
    if name in ("Walk", "Wave"):
        # Pose loops: the last key repeats the first pose (Walk also moves forward).
        action.use_frame_range = True
        action.frame_start, action.frame_end = 1, last_frame
        action.use_cyclic = name == "Wave"
    return action


def main(out=OUT):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = FPS, 1.0
    armature = build_armature(scene)
    body = build_body(armature)
    scene.collection.objects.link(body)
    for name, pose_at, last_frame in ACTIONS:
        build_action(armature, name, pose_at, last_frame)
    out = pathlib.Path(out)
    part = out.with_name(f".{out.name}.part")
    bpy.ops.wm.save_as_mainfile(filepath=str(part), compress=True, copy=True)
    os.replace(part, out)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB, Blender {bpy.app.version_string})")


if __name__ == "__main__":
    argv = sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else []
    main(argv[0] if argv else OUT)
