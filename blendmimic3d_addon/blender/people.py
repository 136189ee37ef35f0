"""People: the characters in the scene, the list the People panel shows, and their layout
(each one's take, action and start offset, is in ``takes``).

The armature objects stay the source of truth: scene_model's tags say who is a person (index 0 is
the primary), the object's location and Z rotation are its position and heading, and its take is
its active action, or, with a start offset, the one strip of its "BM3D Take" NLA track (Blender has
no time offset for an active action). ``scene.bm3d_people.people`` is the list the panel shows and
scripts read: each item points at a person's armature and edits that armature's data.
"""

import bpy

from ..core.geometry import layout as layout_core
from . import scene_model
from .registration import classes_and_scene_settings
from .takes import fit_frame_range, set_take, take

LAYOUT_ITEMS = [
    ("SINGLE", "Single", "One person at the centre, facing the front (-Y)"),
    ("SIDE_BY_SIDE", "Side by Side", "A row along X, everyone facing the front"),
    ("FACING_PAIR", "Facing Pair", "Two lines facing each other across X"),
    ("CIRCLE", "Circle", "Around the centre, facing it"),
    ("QUEUE", "Queue", "A line along Y, each facing the one ahead"),
    ("RANDOM", "Random", "Random spots and headings, at least the minimum distance apart"),
]


# --- people


def add_person(scene, armature, bodies, actions=()):
    """Tag ``armature`` as the scene's next person (the primary when it is the first), its
    ``bodies`` as body meshes, add ``actions`` to its library, and list it in the panel."""
    taken = {int(arm.get(scene_model.PERSON_INDEX, -1)) for arm in scene_model.people(scene)}
    index = next(i for i in range(len(taken) + 1) if i not in taken)
    scene_model.set_role(armature, scene_model.PERSON, **{scene_model.PERSON_INDEX: index})
    armature.rotation_mode = "XYZ"  # heading is the Z angle
    for body in bodies:
        scene_model.set_role(body, scene_model.BODY)
    for action in actions:
        add_library_action(armature, action)
    sync_people_list(scene)
    return index


def add_library_action(armature, action):
    # A library action may be nobody's take at times: the fake user keeps it in the file.
    action.use_fake_user = True
    scene_model.add_person_action(armature, action.name)


def sync_people_list(scene):
    """Make ``scene.bm3d_people.people`` list the scene's people, primary first."""
    settings = scene.bm3d_people
    people = scene_model.people(scene)
    current = [item.armature for item in settings.people]
    if current != people:
        settings.people.clear()
        for arm in people:
            settings.people.add().armature = arm
    settings.active_index = min(max(settings.active_index, 0), max(len(people) - 1, 0))


def make_primary(scene, armature):
    """Give ``armature`` person index 0 and shift the others up, keeping their order."""
    others = [arm for arm in scene_model.people(scene) if arm != armature]
    for i, arm in enumerate([armature, *others]):
        arm[scene_model.PERSON_INDEX] = i
    sync_people_list(scene)


# --- list items: views onto the armatures

# Enum item strings must outlive the callback (Blender keeps pointers to them).
_action_items_cache = []
NO_ACTION = "__none__"


def _library_names(item):
    arm = item.armature
    if arm is None:
        return []
    names = scene_model.person_actions(arm)
    current = take(arm)[0]
    if current is not None and current.name not in names:
        names.append(current.name)
    return names


def _library_items(item, context):
    items = [(NO_ACTION, "(none)", "No action", 0)]
    items += [(n, n, f"Play {n}", i) for i, n in enumerate(_library_names(item), start=1)]
    _action_items_cache[:] = items
    return items


def _get_action(item):
    action = take(item.armature)[0] if item.armature is not None else None
    names = _library_names(item)
    return names.index(action.name) + 1 if action is not None and action.name in names else 0


def _set_action(item, value):
    arm = item.armature
    if arm is None:
        return
    names = _library_names(item)
    name = names[value - 1] if 1 <= value <= len(names) else None
    set_take(arm, bpy.data.actions.get(name) if name else None, take(arm)[1])
    fit_frame_range(bpy.context.scene)


def _get_offset(item):
    return take(item.armature)[1] if item.armature is not None else 0


def _set_offset(item, value):
    arm = item.armature
    if arm is None:
        return
    action, _ = take(arm)
    set_take(arm, action, value)
    fit_frame_range(bpy.context.scene)


def _is_armature(_item, obj):
    return obj.type == "ARMATURE"


class BM3D_PG_person(bpy.types.PropertyGroup):
    """One item of the People list: a view onto a person's armature and its take."""

    armature: bpy.props.PointerProperty(
        name="Armature", type=bpy.types.Object, poll=_is_armature, description="The person"
    )
    action: bpy.props.EnumProperty(
        name="Action",
        description="The action this person plays, from its library",
        items=_library_items,
        get=_get_action,
        set=_set_action,
    )
    start_offset: bpy.props.IntProperty(
        name="Start Offset",
        description="Frames this person's action starts after the action's own first frame",
        get=_get_offset,
        set=_set_offset,
        min=-100000,
        max=100000,
    )


def layout_settings():
    """Settings of a layout, shared by the People panel's group and ``layout_people``."""
    P = bpy.props
    return {
        "preset": P.EnumProperty(name="Layout", items=LAYOUT_ITEMS, default="SIDE_BY_SIDE"),
        "spacing": P.FloatProperty(name="Spacing", default=1.2, min=0.1, max=50.0,
                                   unit="LENGTH", description="Between neighbours"),
        "area": P.FloatVectorProperty(name="Area", size=2, default=(4.0, 4.0), min=0.1,
                                      unit="LENGTH", description="Random: width, depth"),
        "min_distance": P.FloatProperty(name="Minimum Distance", default=0.8, min=0.0,
                                        unit="LENGTH", description="Random: between people"),
        "seed": P.IntProperty(name="Seed", default=0, min=0, description="Random: the draw"),
    }  # fmt: skip


class BM3D_PG_people(bpy.types.PropertyGroup):
    """The People panel's list and layout settings (``scene.bm3d_people``)."""

    __annotations__ = {
        "people": bpy.props.CollectionProperty(type=BM3D_PG_person),
        "active_index": bpy.props.IntProperty(name="Active Person", default=0),
        **layout_settings(),
    }


# --- operators


class BM3D_OT_layout_people(bpy.types.Operator):
    """Place every person of the scene by a layout preset, around the 3D cursor"""

    bl_idname = "blendmimic3d.layout_people"
    bl_label = "Lay Out People"
    bl_options = {"REGISTER", "UNDO"}

    __annotations__ = {
        **layout_settings(),
        "use_cursor": bpy.props.BoolProperty(
            name="Around the 3D Cursor",
            default=False,
            description="Centre on the cursor, else the origin",
        ),
    }

    def execute(self, context):
        scene = context.scene
        people = scene_model.people(scene)
        if not people:
            self.report(
                {"ERROR"}, "No people to lay out: import a Mixamo character or add a mannequin"
            )
            return {"CANCELLED"}
        centre = tuple(scene.cursor.location[:2]) if self.use_cursor else (0.0, 0.0)
        try:
            placed = layout_core.layout(
                self.preset,
                len(people),
                spacing=self.spacing,
                centre=centre,
                seed=self.seed,
                area=tuple(self.area),
                min_gap=self.min_distance,
            )
        except ValueError as exc:
            self.report({"ERROR"}, f"Layout {self.preset.lower()}: {exc}")
            return {"CANCELLED"}
        for arm, (x, y), heading in zip(people, placed.positions, placed.headings, strict=True):
            arm.location.x, arm.location.y = float(x), float(y)
            arm.rotation_mode = "XYZ"
            arm.rotation_euler.z = float(heading)
        sync_people_list(scene)
        self.report(
            {"INFO"}, f"Laid out {len(people)} people: {self.preset.lower().replace('_', ' ')}"
        )
        return {"FINISHED"}


class BM3D_OT_make_primary(bpy.types.Operator):
    """Make the selected person the primary one (index 0, the one the legacy files carry)"""

    bl_idname = "blendmimic3d.make_primary"
    bl_label = "Make Primary"
    bl_options = {"REGISTER", "UNDO"}

    person: bpy.props.StringProperty(
        name="Person", description="Armature name; empty: the active item"
    )

    def execute(self, context):
        scene = context.scene
        settings = scene.bm3d_people
        name = self.person
        if not name and 0 <= settings.active_index < len(settings.people):
            arm = settings.people[settings.active_index].armature
            name = arm.name if arm is not None else ""
        arm = scene.objects.get(name)
        if arm is None or arm not in scene_model.people(scene):
            self.report({"ERROR"}, f"Not a person in this scene: {name!r}")
            return {"CANCELLED"}
        make_primary(scene, arm)
        settings.active_index = 0
        self.report({"INFO"}, f"{arm.name} is the primary person")
        return {"FINISHED"}


class BM3D_OT_refresh_people(bpy.types.Operator):
    """List the scene's people again (after people were deleted or tagged by hand)"""

    bl_idname = "blendmimic3d.refresh_people"
    bl_label = "Refresh People"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        sync_people_list(context.scene)
        fit_frame_range(context.scene)
        return {"FINISHED"}


CLASSES = (
    BM3D_PG_person,
    BM3D_PG_people,
    BM3D_OT_layout_people,
    BM3D_OT_make_primary,
    BM3D_OT_refresh_people,
)
register, unregister = classes_and_scene_settings(CLASSES, bm3d_people=BM3D_PG_people)
