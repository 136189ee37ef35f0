"""Ray casts for occlusion labels: one BVH tree per body mesh per frame, shared by every camera.

Trees are built in each object's local space (as ``BVHTree.FromObject`` gives them), so rays are
moved into that space and hits back to world. Bodies are rebuilt every frame from the evaluated
(deformed) mesh; other objects are treated as rigid, so their trees are built once and only
their current world matrix is read each frame. A numpy bounding-sphere test picks the trees a
ray can touch before any cast.
"""

import numpy as np
from mathutils import Vector
from mathutils.bvhtree import BVHTree

from ..core.occlusion import NO_HIT, OBJECT_HIT
from . import scene_model

# cos(45 deg): a surface point is "straight on" when the joint lies within 45 deg of its normal.
_STRAIGHT_ON = 0.7


class _Tree:
    """A BVH tree with its object's world matrix and world bounding sphere."""

    def __init__(self, obj, depsgraph, owner):
        self.obj = obj
        self.owner = owner
        self.build(depsgraph)

    def build(self, depsgraph):
        evaluated = self.obj.evaluated_get(depsgraph)
        self.tree = BVHTree.FromObject(self.obj, depsgraph)
        self.set_matrix(evaluated.matrix_world)
        corners = np.array(evaluated.bound_box, dtype=np.float64)
        self.local_centre = corners.mean(axis=0)
        self.local_radius = float(np.linalg.norm(corners - self.local_centre, axis=1).max())

    def set_matrix(self, matrix_world):
        self.matrix = np.array(matrix_world, dtype=np.float64)
        self.inverse = np.linalg.inv(self.matrix)
        singular = np.linalg.svd(self.matrix[:3, :3], compute_uv=False)
        self.scale, self.min_scale = float(singular.max()), float(singular.min())

    def world_sphere(self):
        centre = self.matrix[:3, :3] @ self.local_centre + self.matrix[:3, 3]
        return centre, self.local_radius * self.scale

    def to_local(self, points):
        return points @ self.inverse[:3, :3].T + self.inverse[:3, 3]

    def to_world(self, points):
        return points @ self.matrix[:3, :3].T + self.matrix[:3, 3]


def _renderable_meshes(scene):
    return [o for o in scene.objects if o.type == "MESH" and not o.hide_render and o.visible_get()]


class FrameRayCaster:
    """Casts every joint ray of a frame against all people's bodies and the scene's objects.

    ``bodies`` is one list of body meshes per person, in person order. Every other renderable
    mesh (tagged occluders, furniture, walls) counts as an object.
    """

    def __init__(self, scene, depsgraph, bodies):
        self.body_trees = [
            _Tree(o, depsgraph, p) for p, meshes in enumerate(bodies) for o in meshes
        ]
        body_set = {o.name for meshes in bodies for o in meshes}
        self.object_trees = [
            _Tree(o, depsgraph, OBJECT_HIT)
            for o in _renderable_meshes(scene)
            if o.name not in body_set
        ]
        self.person_count = len(bodies)

    def begin_frame(self, depsgraph):
        """Rebuild the people's trees from this frame's evaluated meshes (once for all cameras)."""
        for tree in self.body_trees:
            tree.build(depsgraph)
        for tree in self.object_trees:
            tree.set_matrix(tree.obj.evaluated_get(depsgraph).matrix_world)

    def cast(self, origins, targets, mask):
        """First hits on the segments ``origins[c] -> targets[c, ...]`` where ``mask`` is true.

        origins (C,3); targets (C,...,3); mask (C,...). Returns hit distance (C,...) in world
        units, inf where nothing is hit before the target, and the hit's owner (C,...): a person
        index, OBJECT_HIT or NO_HIT.
        """
        targets = np.asarray(targets, dtype=np.float64)
        shape = targets.shape[:-1]
        ends = targets.reshape(shape[0], -1, 3)
        flat_mask = np.asarray(mask, dtype=bool).reshape(shape[0], -1)
        distance = np.full(flat_mask.shape, np.inf)
        owner = np.full(flat_mask.shape, NO_HIT, dtype=np.int64)
        for tree in self.body_trees + self.object_trees:
            centre, radius = tree.world_sphere()
            for c in range(shape[0]):
                near = flat_mask[c] & _segments_near_sphere(origins[c], ends[c], centre, radius)
                for i in np.flatnonzero(near):
                    hit = _cast_segment(tree, origins[c], ends[c, i])
                    if hit < distance[c, i]:
                        distance[c, i] = hit
                        owner[c, i] = tree.owner
        return distance.reshape(shape), owner.reshape(shape)

    def skin_depth(self, joints, reach=0.25):
        """How deep (P,J) each person's joints (P,J,3) sit under their own skin, world units.

        The depth is the distance to the nearest surface that faces away from the joint straight
        on (the joint lies under it along its normal), so the faces of overlapping parts or of a
        separate mesh the joint is outside of do not count. inf where none is within ``reach``.
        """
        joints = np.asarray(joints, dtype=np.float64)
        depth = np.full(joints.shape[:2], np.inf)
        for tree in self.body_trees:
            local = tree.to_local(joints[tree.owner])
            for j, point in enumerate(local):
                enclosing = [
                    (distance, location)
                    for location, normal, _, distance in tree.tree.find_nearest_range(
                        point, reach / tree.min_scale
                    )
                    if distance > 1e-6
                    and (location - Vector(point)).dot(normal) > _STRAIGHT_ON * distance
                ]
                if enclosing:
                    location = np.asarray(min(enclosing, key=lambda item: item[0])[1])
                    gap = float(np.linalg.norm(tree.to_world(location) - joints[tree.owner, j]))
                    depth[tree.owner, j] = min(depth[tree.owner, j], gap)
        return depth


def _segments_near_sphere(origin, ends, centre, radius):
    """True where the segment origin -> ends[i] passes within ``radius`` of ``centre``."""
    direction = ends - origin
    length2 = np.einsum("ij,ij->i", direction, direction)
    along = np.clip((centre - origin) @ direction.T / np.maximum(length2, 1e-18), 0.0, 1.0)
    closest = origin + along[:, None] * direction
    return np.einsum("ij,ij->i", closest - centre, closest - centre) <= radius * radius


def _cast_segment(tree, origin, end):
    """World distance from ``origin`` to the first hit of ``tree`` before ``end``, else inf."""
    local = tree.to_local(np.stack([origin, end]))
    direction = local[1] - local[0]
    length = float(np.linalg.norm(direction))
    if length == 0.0:
        return np.inf
    location = tree.tree.ray_cast(local[0], direction / length, length)[0]
    if location is None:
        return np.inf
    return float(np.linalg.norm(tree.to_world(np.asarray(location)) - origin))


def people_bodies(scene):
    """Body meshes of each person armature, in person order."""
    return [scene_model.body_meshes(arm, scene) for arm in scene_model.people(scene)]
