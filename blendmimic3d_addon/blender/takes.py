"""Takes: which action each person plays, from which scene frame.

A person's take is its active action, or, with a start offset, the one strip of its "BM3D Take"
NLA track (Blender has no time offset for an active action). The export, the videos, the camera
fit and the depth check play the scene's takes through ``play_take`` and put them back with
``restore_takes``, so that all of them see the same frames.

Names, one meaning each:
- ``take(armature)`` / ``set_take(armature, ...)``: a person's (action, start offset).
- ``take_range(armature)``: the scene frames of a person's take.
- ``scene_actions(scene)``: the actions the export writes (the primary person's library).
- ``play_take(scene, name)`` / ``played_range(scene, name)``: the scene playing the take exported
  as ``name``, and its scene frames.
- ``Take``: one exported take as the dataset lists it (action, folder, scene frames).
"""

import contextlib
import dataclasses
import re

import bpy

from . import scene_model

TAKE_TRACK = "BM3D Take"


# --- actions: the one shim for Blender's slotted actions (4.4+) ----------------------------------


def _slotted(action):
    return hasattr(action, "layers") and not getattr(action, "is_action_legacy", False)


def action_fcurves(action, slot=None):
    """The F-curves of ``action`` (those of ``slot`` only, when given): slotted actions
    (Blender 4.4+) keep them in channel bags, older ones in one flat list."""
    if not _slotted(action):
        return list(action.fcurves)
    return [
        fcurve
        for layer in action.layers
        for strip in layer.strips
        for bag in strip.channelbags
        if slot is None or bag.slot == slot
        for fcurve in bag.fcurves
    ]


def animated_fcurves(id_data):
    """The F-curves animating ``id_data``: its action's, for its own slot."""
    anim = id_data.animation_data
    return action_fcurves(anim.action, getattr(anim, "action_slot", None))


def _use_first_slot(holder, action):
    """Give ``holder`` (animation data or an NLA strip) the action's first slot where Blender
    has slots and none was chosen (4.4+; before that, actions have none)."""
    slots = getattr(action, "slots", None)
    if slots and getattr(holder, "action_slot", False) is None:
        holder.action_slot = slots[0]


def assign_action(armature, action):
    """Make ``action`` (or None) the armature's active action."""
    ad = armature.animation_data or armature.animation_data_create()
    ad.action = action
    _use_first_slot(ad, action)


def frame_range(action):
    """The action's own first and last frame, as integers."""
    start, end = action.frame_range
    return int(round(start)), int(round(end))


def retime_action(action, factor):
    """Stretch ``action``'s keys in time about its first frame by ``factor`` (new fps / old fps),
    so that it plays at the same speed in a scene with another frame rate."""
    start = action.frame_range[0]
    for fcurve in action_fcurves(action):
        points = fcurve.keyframe_points
        for attribute in ("co", "handle_left", "handle_right"):
            values = [0.0] * (2 * len(points))
            points.foreach_get(attribute, values)
            values[0::2] = [start + (x - start) * factor for x in values[0::2]]
            points.foreach_set(attribute, values)
        fcurve.update()
    if action.use_frame_range:
        end = start + (action.frame_end - start) * factor
        action.frame_start, action.frame_end = start, end


def action_folder_name(name):
    """A file-system-safe folder name for an action (``A|b c`` -> ``A_b_c``)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return safe or "Action"


# --- a person's take -----------------------------------------------------------------------------


def take(armature):
    """(action, start offset in frames) that the person plays; (None, 0) when it plays nothing."""
    ad = armature.animation_data
    if ad is None:
        return None, 0
    track = ad.nla_tracks.get(TAKE_TRACK)
    if track is not None and len(track.strips):
        strip = track.strips[0]
        return strip.action, int(round(strip.frame_start - strip.action_frame_start))
    return ad.action, 0


def set_take(armature, action, offset=0):
    """Make ``action`` the person's take, starting ``offset`` frames after its own first frame."""
    ad = armature.animation_data or armature.animation_data_create()
    track = ad.nla_tracks.get(TAKE_TRACK)
    if track is not None:
        ad.nla_tracks.remove(track)
    offset = int(offset)
    if action is None or offset == 0:
        assign_action(armature, action)
        return
    assign_action(armature, None)
    track = ad.nla_tracks.new()
    track.name = TAKE_TRACK
    start = frame_range(action)[0]
    strip = track.strips.new(action.name, start + offset, action)
    strip.extrapolation = "HOLD"  # stand in the first pose until the take starts
    _use_first_slot(strip, action)


def take_range(armature):
    """First and last scene frame of the person's take, or None."""
    action, offset = take(armature)
    if action is None:
        return None
    start, end = frame_range(action)
    return start + offset, end + offset


def fit_frame_range(scene):
    """Scene frame range = the union of every person's take; unchanged when nobody plays one."""
    ranges = [r for r in (take_range(arm) for arm in scene_model.people(scene)) if r]
    if ranges:
        scene.frame_start = min(r[0] for r in ranges)
        scene.frame_end = max(max(r[1] for r in ranges), scene.frame_start)


# --- the scene's takes, as the export plays them -------------------------------------------------


def scene_actions(scene):
    """Names of the actions to export: the primary person's library, else its take."""
    people = scene_model.people(scene)
    if not people:
        return []
    names = scene_model.person_actions(people[0])
    if not names:
        action = take(people[0])[0]
        names = [action.name] if action is not None else []
    return [n for n in names if n in bpy.data.actions]


def played_range(scene, action_name):
    """First and last scene frame of the take exported as ``action_name`` (``play_take``)."""
    action = bpy.data.actions[action_name]
    current, offset = take(scene_model.people(scene)[0])
    start, end = frame_range(action)
    offset = offset if current is action else 0
    return start + offset, end + offset


def play_take(scene, action_name):
    """Make the scene play the take exported as ``action_name``; returns its scene frames.

    The primary person plays that action, with the start offset the People panel gave it when it
    already is its take (else from the action's first frame). Everyone else plays their own take
    (action and start offset) as the People panel stores it, untouched.
    """
    primary = scene_model.people(scene)[0]
    action = bpy.data.actions[action_name]
    if take(primary)[0] is not action:
        set_take(primary, action)
    return played_range(scene, action_name)


def current_takes(scene):
    """Every person's take as (armature, action, start offset), for ``restore_takes``."""
    return [(arm, *take(arm)) for arm in scene_model.people(scene)]


def restore_takes(saved):
    for arm, action, offset in saved:
        if take(arm) != (action, offset):
            set_take(arm, action, offset)


@contextlib.contextmanager
def applied_take(scene, exported):
    """The people play the ``Take`` as the exporter plays it (``play_take``); every person's take
    is put back afterwards."""
    saved = current_takes(scene)
    try:
        play_take(scene, exported.action)
        yield
    finally:
        restore_takes(saved)


@dataclasses.dataclass
class Take:
    """One exported take as the dataset lists it."""

    action: str  # the action's name in Blender
    folder: str  # its file-system-safe name in the dataset (action_folder_name)
    frame_start: int
    frame_end: int

    @property
    def frames(self):
        return range(self.frame_start, self.frame_end + 1)


def scene_takes(scene):
    """The takes the exporter writes (``scene_actions``), over the scene frames it uses."""
    found = []
    for name in scene_actions(scene):
        start, end = played_range(scene, name)
        found.append(Take(name, action_folder_name(name), start, end))
    return found
