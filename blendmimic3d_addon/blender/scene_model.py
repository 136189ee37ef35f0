"""What the scene means to BlendMimic3D: which objects are people, occluders and dataset cameras.

Scene building writes these tags and the exporter reads them, so that both agree without sharing
state. Tags are custom properties on objects, so they survive save, load, undo and duplication.

- person: an armature, ``obj["bm3d_role"] = "person"``, ``obj["bm3d_person_index"] = i``
  (0 is the primary, the one the legacy files carry); its actions library is
  ``obj["bm3d_actions"]`` (list of action names) and its current take is its active action.
- body: a mesh deformed by a person's armature, ``obj["bm3d_role"] = "body"``.
- occluder: ``obj["bm3d_role"] = "occluder"``, ``obj["bm3d_kind"]`` from the occluder library.
- camera: ``Camera_<i>``, ``obj["bm3d_role"] = "camera"``, ``obj["bm3d_index"] = i``.
"""

ROLE = "bm3d_role"
PERSON, BODY, OCCLUDER, CAMERA = "person", "body", "occluder", "camera"
PERSON_INDEX = "bm3d_person_index"
ACTIONS = "bm3d_actions"
KIND = "bm3d_kind"
CAMERA_INDEX = "bm3d_index"


def role(obj):
    return obj.get(ROLE)


def set_role(obj, value, **extra):
    obj[ROLE] = value
    for key, item in extra.items():
        obj[key] = item


def people(scene):
    """Person armatures in the scene, primary first, then by person index."""
    found = [o for o in scene.objects if o.type == "ARMATURE" and role(o) == PERSON]
    return sorted(found, key=lambda o: (int(o.get(PERSON_INDEX, 1 << 30)), o.name))


def body_meshes(armature, scene=None):
    """Meshes deformed by ``armature`` (its armature modifier), whether tagged yet or not."""
    objects = scene.objects if scene is not None else armature.children_recursive
    return [
        o
        for o in objects
        if o.type == "MESH"
        and any(m.type == "ARMATURE" and m.object == armature for m in o.modifiers)
    ]


def person_actions(armature):
    """Names of the actions in a person's library, in the order they were added."""
    return [str(name) for name in armature.get(ACTIONS, [])]


def add_person_action(armature, action_name):
    names = person_actions(armature)
    if action_name not in names:
        armature[ACTIONS] = [*names, action_name]


def occluders(scene):
    return [o for o in scene.objects if role(o) == OCCLUDER]


def dataset_cameras(scene):
    """Dataset cameras in dataset order (Camera_0, Camera_1, ...)."""
    found = [o for o in scene.objects if o.type == "CAMERA" and role(o) == CAMERA]
    return sorted(found, key=lambda o: (int(o.get(CAMERA_INDEX, 1 << 30)), o.name))
