"""COCO's face points (nose, eyes, ears) on each character's head, and whether a camera sees them.

Found once per character, in its rest pose, on the surface of its head (the triangles of its
body meshes weighted to the Head bone or a bone below it; without such weights, every triangle
above the Head bone's head), and stored in the Head bone's rest frame on the armature
(``bm3d_face_points``), so the Head bone carries them through every frame. With ``up`` from the
Head bone's head H to HeadTop_End's T (h = |T - H|), ``left`` from the right to the left
shoulder, ``forward`` = left x up:

- nose: the first head surface met by a ray going backwards from in front of the face, on the
  mid-line, at H + 0.30 h up;
- eyes: the same from in front of each eye bone (LeftEye / RightEye) where the rig has them,
  else at H + 0.50 h up and 0.42 of the head's half width (measured there) to each side;
- ears: the first head surface met by a ray coming from each side towards the mid-line, at
  H + 0.40 h up, half-way between the head's front and back surfaces at that height.

Visibility is a surface test (``label_rays``): a face point is hidden when the ray from the
camera meets any surface before it, its own head's surface only counting from SURFACE_TOLERANCE
before the point (the point lies on that surface, carried rigidly while skinning may move the
skin slightly).
"""

import numpy as np
from mathutils import Matrix, Vector
from mathutils.bvhtree import BVHTree

from ..core.format import coco_dataset
from ..core.geometry import camera as cam
from ..core.joints import mixamo_prefix
from ..core.occlusion import classify as occlusion
from ..core.occlusion.labels import LABEL_DTYPE, OcclusionType

PROPERTY = "bm3d_face_points"  # 15 floats: the 5 points in the Head bone's rest frame
SURFACE_TOLERANCE = 0.02  # metres
NOSE_HEIGHT, EYE_HEIGHT, EAR_HEIGHT, EYE_SPREAD = 0.30, 0.50, 0.40, 0.42
_HEAD_BONES_BELOW = ("Head",)


class FaceError(ValueError):
    """The character's head gives no surface where a face point must be."""


def _head_triangles(armature, bodies, prefix):
    """Rest-pose triangles (armature space) of the head: faces whose every vertex is weighted
    mostly to the Head bone or its children; without any, faces above the Head bone's head."""
    head = armature.data.bones[prefix + "Head"]
    head_names = {head.name, *(b.name for b in head.children_recursive)}
    to_armature = armature.matrix_world.inverted()
    verts, tris, fallback = [], [], []
    for body in bodies:
        mesh = body.data
        matrix = to_armature @ body.matrix_world
        groups = {g.index for g in body.vertex_groups if g.name in head_names}
        count = len(mesh.vertices)
        co = np.empty(count * 3)
        mesh.vertices.foreach_get("co", co)
        co = co.reshape(-1, 3) @ np.array(matrix)[:3, :3].T + np.array(matrix)[:3, 3]
        on_head = np.zeros(count, dtype=bool)
        if groups:
            for v in mesh.vertices:
                weights = {g.group: g.weight for g in v.groups}
                total = sum(weights.values())
                on_head[v.index] = total > 0 and sum(weights.get(i, 0) for i in groups) > total / 2
        if hasattr(mesh, "calc_loop_triangles"):
            mesh.calc_loop_triangles()
        faces = np.empty(len(mesh.loop_triangles) * 3, dtype=np.int64)
        mesh.loop_triangles.foreach_get("vertices", faces)
        faces = faces.reshape(-1, 3)
        up_axis = np.array((head.tail_local - head.head_local).normalized())
        above = co @ up_axis > np.dot(np.array(head.head_local), up_axis)
        base = sum(len(v) for v in verts)
        verts.append(co)
        tris.append(faces[on_head[faces].all(axis=1)] + base)
        fallback.append(faces[above[faces].all(axis=1)] + base)
    verts = np.concatenate(verts) if verts else np.zeros((0, 3))
    chosen = np.concatenate(tris) if tris else np.zeros((0, 3), np.int64)
    if not len(chosen):
        chosen = np.concatenate(fallback) if fallback else chosen
    if not len(chosen):
        raise FaceError(f"{armature.name}: no head surface (no mesh above the Head bone)")
    return verts, chosen


def find_face_points(armature, bodies):
    """The five face points (5,3) in the Head bone's rest frame (see the module's doc)."""
    prefix = mixamo_prefix(armature.data.bones.keys())
    bones = armature.data.bones
    H = np.array(bones[prefix + "Head"].head_local)
    T = np.array(bones[prefix + "HeadTop_End"].head_local)
    height = np.linalg.norm(T - H)
    up = (T - H) / height
    left = np.array(bones[prefix + "LeftArm"].head_local - bones[prefix + "RightArm"].head_local)
    left -= up * np.dot(left, up)
    left /= np.linalg.norm(left)
    forward = np.cross(left, up)
    verts, tris = _head_triangles(armature, bodies, prefix)
    tree = BVHTree.FromPolygons([Vector(v) for v in verts], tris.tolist())
    far = 5.0 * height

    def hit(origin, direction, what):
        location = tree.ray_cast(Vector(origin), Vector(direction), 2 * far)[0]
        if location is None:
            raise FaceError(f"{armature.name}: no head surface for the {what}")
        return np.array(location)

    def half_width(level):
        centre = H + level * height * up
        sides = [hit(centre + s * far * left, -s * left, "ears") for s in (1, -1)]
        return sides, np.linalg.norm(sides[0] - sides[1]) / 2

    nose = hit(H + NOSE_HEIGHT * height * up + far * forward, -forward, "nose")
    eyes = []
    for side, sign in (("Left", 1), ("Right", -1)):
        eye_bone = bones.get(prefix + f"{side}Eye")
        if eye_bone is not None:
            start = np.array(eye_bone.head_local)
        else:
            start = (
                H + EYE_HEIGHT * height * up + sign * EYE_SPREAD * half_width(EYE_HEIGHT)[1] * left
            )
        eyes.append(hit(start + far * forward, -forward, f"{side.lower()} eye"))
    centre = H + EAR_HEIGHT * height * up
    front = hit(centre + far * forward, -forward, "ears")
    back = hit(centre - far * forward, forward, "ears")
    middle = centre + forward * (np.dot(front + back, forward) / 2 - np.dot(centre, forward))
    ears = [hit(middle + sign * far * left, -sign * left, "ears") for sign in (1, -1)]
    rest = np.array([nose, eyes[0], eyes[1], ears[0], ears[1]])
    to_bone = np.array(Matrix(bones[prefix + "Head"].matrix_local).inverted())
    return rest @ to_bone[:3, :3].T + to_bone[:3, 3]


def face_points_of(armature, bodies):
    """The armature's stored face points (5,3) in the Head bone's frame, found on first use."""
    stored = armature.get(PROPERTY)
    if stored is None or len(stored) != 15:
        armature[PROPERTY] = [float(x) for x in find_face_points(armature, bodies).ravel()]
        stored = armature[PROPERTY]
    return np.array(stored, dtype=np.float64).reshape(5, 3)


class FaceSampler:
    """Face points of every person, read with the joints each frame (main thread) and labelled
    with the joints' occlusion rays (on the labelling thread, numpy only)."""

    def __init__(self, sampler):
        self.sampler = sampler
        self.local = []
        self.heads = []
        for arm, bodies in zip(sampler.people, sampler.bodies, strict=True):
            prefix = mixamo_prefix(arm.pose.bones.keys())
            try:
                self.local.append(face_points_of(arm, bodies))
            except FaceError as exc:
                from ..core.errors import DatasetError
                from .sampling import blend_name

                raise DatasetError(blend_name(), f"{arm.name}: face points", str(exc)) from None
            self.heads.append(prefix + "Head")
        self.positions = self.uv = self.types = None

    def begin_take(self, frames, camera_indices):
        people = len(self.sampler.people)
        self.cameras = list(camera_indices)
        self.P = self.sampler.camera_set.P[self.cameras]
        self.positions = np.empty((frames, people, 5, 3))
        self.uv = np.empty((len(self.cameras), frames, people, 5, 2))
        self.types = np.zeros((len(self.cameras), frames, people, 5), dtype=LABEL_DTYPE)

    def read_frame(self, i):
        """World positions of the face points at the evaluated frame ``i`` of the take."""
        depsgraph = self.sampler.depsgraph
        for p, (arm, head) in enumerate(zip(self.sampler.people, self.heads, strict=True)):
            evaluated = arm.evaluated_get(depsgraph)
            matrix = np.array(evaluated.matrix_world) @ np.array(evaluated.pose.bones[head].matrix)
            self.positions[i, p] = self.local[p] @ matrix[:3, :3].T + matrix[:3, 3]
        if self.cameras:
            self.uv[:, i] = cam.project(self.positions[i], self.P)

    def rays(self, frames, slots, RT, centres, res):
        """The rays (``classify.PointRays``) of the face points of ``frames`` (stored in
        ``slots`` of the caster) that cameras ``RT`` (centres ``centres``) see in the image,
        with the masks (F,C,P,5) they were chosen by: (rays, in_frame, in_front)."""
        points = self.positions[frames]  # (F,P,5,3)
        in_front = np.moveaxis(cam.camera_depth(points, RT) > 0, 0, 1)  # (F,C,P,5)
        in_frame = cam.in_image(np.moveaxis(self.uv[:, frames], 0, 1), *res) & in_front
        return occlusion.point_rays(points, centres, slots, in_frame, in_front), in_frame, in_front

    def label(self, frames, rays, hits):
        """Typed codes of the face points of ``frames`` from ``rays`` (what ``rays`` returned)
        and their crossings ``hits`` (ray, distance, owner, entering)."""
        rays, in_frame, in_front = rays
        ray_codes = label_rays(*hits[:3], *rays.targets_of())
        codes = occlusion.classify(ray_codes, in_frame, in_front)
        self.types[:, frames] = np.moveaxis(codes, 1, 0)

    def by_camera(self):
        """(3D (N,P,5,3), {camera: 2D (N,P,5,2)}, {camera: codes (N,P,5)}) of the last take."""
        return (
            self.positions,
            {c: self.uv[k] for k, c in enumerate(self.cameras)},
            {c: self.types[k] for k, c in enumerate(self.cameras)},
        )

    def write(self, subject_dir, action):
        """``FacePoints/<action>/face_points.npz`` of the take last sampled."""
        uv = [a.transpose(1, 0, 2, 3) for a in self.uv]
        types = [a.transpose(1, 0, 2) for a in self.types]
        coco_dataset.write_face_points(
            subject_dir, action, self.positions.transpose(1, 0, 2, 3), uv, types
        )


def label_rays(rays, t, owner, own_person, distance, tolerance=SURFACE_TOLERANCE):
    """Code (R,) of each surface-point ray from its crossings (ray, distance, owner): the first
    crossing that counts says who hides the point; own surfaces count only up to ``tolerance``
    before the point."""
    rays, t, owner = np.asarray(rays), np.asarray(t), np.asarray(owner)
    own_person = np.asarray(own_person)
    distance = np.asarray(distance, dtype=np.float64)
    mine = owner == own_person[rays]
    counts = t < distance[rays] - np.where(mine, tolerance, occlusion.SLIVER)
    first = np.full(len(distance), np.inf)
    np.minimum.at(first, rays[counts], t[counts])
    codes = np.full(len(distance), OcclusionType.VISIBLE, dtype=LABEL_DTYPE)
    is_first = counts & (t == first[rays])
    hit_rays, hit_owner, hit_mine = rays[is_first], owner[is_first], mine[is_first]
    codes[hit_rays[~hit_mine & (hit_owner >= 0)]] = OcclusionType.OTHER_PERSON
    codes[hit_rays[hit_owner == occlusion.OBJECT_HIT]] = OcclusionType.OBJECT
    codes[hit_rays[hit_mine]] = OcclusionType.SELF
    return codes
