"""The scene's surfaces for occlusion rays, refreshed once per frame and shared by every camera.

People's bodies are read each frame from their evaluated (deformed) meshes; every other
renderable mesh (tagged occluders, furniture, walls) is treated as rigid, so its vertices are
read once and only its world matrix is read each frame. The casting itself is numpy
(``core.occlusion.triangle_rays``): rebuilding ``mathutils`` BVH trees of the deformed character
every frame cost 20 ms, against 3 ms for evaluating the frame (Mixamo sample, two meshes, 49k
triangles); chunk culling with exact triangle tests costs less and yields every crossing with its
direction (entering or leaving), which the own-body test needs.
"""

import numpy as np

from ..core.occlusion import classify as occlusion
from ..core.occlusion import triangle_rays
from . import scene_model


def _read_positions(mesh, out):
    """Vertex positions into ``out`` (V*3 float32). The position attribute copies in one go,
    tens of times faster than ``vertices``' "co"; the latter is the fallback."""
    position = mesh.attributes.get("position")
    if position is not None and position.data_type == "FLOAT_VECTOR" and position.domain == "POINT":
        position.data.foreach_get("vector", out)
    else:
        mesh.vertices.foreach_get("co", out)


class _Topology:
    """A mesh's triangles as read (vertex indices), with the vertices and the placement they were
    read with. Laid out for casting (wound outwards, in chunk order) on first use, which may be
    on the labelling thread while the frames go on being evaluated: it reads only these copies,
    never Blender data."""

    def __init__(self, triangles, local, matrix):
        self.triangles, self.local, self.matrix = triangles, local.copy(), matrix.copy()
        self._chunked = None

    def chunked(self, known):
        """The triangles wound outwards, in chunk order. ``known`` is shared with the other
        meshes laid out together: what was found for one topology (its connected parts) and for
        one topology in one shape and orientation (its layout) serves the copies of a
        character, found once (the same inputs, so the same result)."""
        if self._chunked is None:
            count = len(self.local)
            key = (count, self.triangles.tobytes())
            if key not in known:
                known[key] = triangle_rays.connected_parts(self.triangles, count)
            parts = known[key]
            shape = (key, self.local.tobytes(), self.matrix[:3, :3].tobytes())
            if shape not in known:
                triangles = triangle_rays.outward_triangles(self.local, self.triangles, parts)
                corners = self.local.take(triangles.T, axis=0)  # (corner, triangle, axis)
                centroids = corners[0] + corners[1]  # the mean's sum, in its order
                centroids += corners[2]
                centroids /= 3
                centroids = centroids @ self.matrix[:3, :3].T
                known[shape] = triangles[triangle_rays.chunk_order(centroids)]
            self._chunked = known[shape]
            self.triangles = self.local = None  # the copies served their purpose
        return self._chunked


class _Mesh:
    """One mesh object: its topology, vertices and placement as last read, and its owner code."""

    def __init__(self, obj, depsgraph, owner, deforming):
        self.obj = obj
        self.owner = owner
        self.deforming = deforming
        self.local = None
        self.matrix = None
        self.mirrored = False
        self.topology = None
        self.written = set()  # buffer slots that hold the current world positions
        self._read(depsgraph)

    def _read(self, depsgraph):
        evaluated = self.obj.evaluated_get(depsgraph)
        mesh = evaluated.data
        count = len(mesh.vertices)
        self._place(np.array(evaluated.matrix_world, dtype=np.float64))
        if self.local is None or len(self.local) != count:
            triangles = np.empty(len(mesh.loop_triangles) * 3, dtype=np.int64)
            mesh.loop_triangles.foreach_get("vertices", triangles)
            self.local = np.empty((count, 3), dtype=np.float32)
            _read_positions(mesh, self.local.reshape(-1))
            self.topology = _Topology(triangles.reshape(-1, 3), self.local, self.matrix)
        else:
            _read_positions(mesh, self.local.reshape(-1))
        self.written.clear()

    def _place(self, matrix):
        """Take the object's world matrix; returns whether it changed."""
        if self.matrix is not None and matrix.tobytes() == self.matrix.tobytes():
            return False  # (the bytes: np.array_equal costs more than the rest of a read)
        self.matrix = matrix
        self.mirrored = bool(np.linalg.det(matrix[:3, :3]) < 0)
        return True

    def refresh(self, depsgraph):
        """Bring the mesh to the evaluated frame (rigid meshes: only their placement)."""
        if self.deforming:
            self._read(depsgraph)
        elif self._place(np.array(self.obj.evaluated_get(depsgraph).matrix_world, np.float64)):
            self.written.clear()

    def layout_key(self):
        """What the shared triangle list depends on: the topology and the placement's handedness."""
        return id(self.topology), self.mirrored

    def write_world(self, out):
        """World positions of the vertices into ``out``, planar (3,V) and single precision (what
        the casting uses)."""
        matrix = self.matrix.astype(np.float32)
        np.matmul(matrix[:3, :3], self.local.T, out=out)
        out += matrix[:3, 3:]


def _renderable_meshes(scene):
    return [o for o in scene.objects if o.type == "MESH" and not o.hide_render and o.visible_get()]


class FrameRayCaster:
    """Casts the joint rays of up to ``capacity`` frames at once against all people's bodies and
    the scene's objects: the frames of a batch share numpy's per-call costs, which exceed the
    work of one frame's few dozen rays, and the buffers (so the memory) stay fixed.

    ``bodies`` is one list of body meshes per person, in person order. After each
    ``scene.frame_set`` call ``begin_frame``; when it says the layout must change, cast the
    frames stored so far, then ``lay_out``; then ``store`` the frame in a free slot.
    """

    def __init__(self, scene, depsgraph, bodies, capacity=1):
        self.capacity = capacity
        self.meshes = [
            _Mesh(o, depsgraph, person, deforming=True)
            for person, meshes in enumerate(bodies)
            for o in meshes
        ]
        body_names = {o.name for meshes in bodies for o in meshes}
        self.meshes += [
            _Mesh(o, depsgraph, occlusion.OBJECT_HIT, deforming=_deforms(o))
            for o in _renderable_meshes(scene)
            if o.name not in body_names
        ]
        self.person_count = len(bodies)
        self.lay_out()

    def begin_frame(self, depsgraph):
        """Read this frame's surfaces once for all cameras. Returns whether the shared triangle
        list must be laid out again (a mesh's topology or handedness changed)."""
        for mesh in self.meshes:
            mesh.refresh(depsgraph)
        return [mesh.layout_key() for mesh in self.meshes] != self._keys

    def store(self, slot):
        """Keep the world vertices of the frame last read in buffer slot ``slot`` (a mesh that has
        not moved since it was written there is skipped)."""
        for mesh, (start, end) in zip(self.meshes, self._spans, strict=True):
            if slot not in mesh.written:
                mesh.write_world(self._planar[slot, :, start:end])
                mesh.written.add(slot)

    def lay_out(self):
        """Lay the buffers and the shared triangle list out for the meshes as last read."""
        self._keys = [mesh.layout_key() for mesh in self.meshes]
        self._layout()

    def _layout(self):
        self._spans, self._pending = [], []
        offset = 0
        for mesh in self.meshes:
            self._pending.append((mesh.topology, mesh.mirrored, offset, mesh.owner))
            self._spans.append((offset, offset + len(mesh.local)))
            offset += len(mesh.local)
            mesh.written.clear()
        # Planar storage (slot, axis, vertex): the casting reads a frame's x, y and z rows;
        # ``vertices`` is its (slot, V, 3) view.
        self._planar = np.empty((self.capacity, 3, offset), dtype=np.float32)
        self.vertices = np.swapaxes(self._planar, 1, 2)
        self._chunks = None

    @property
    def laid_out(self):
        """Whether the shared triangle list of the current layout has been made."""
        return self._chunks is not None

    @property
    def chunks(self):
        """The shared triangle list (``TriangleChunks``) of the layout, made on first use: on the
        labelling thread, while the main thread evaluates the first frames of the layout."""
        if self._chunks is None:
            triangles = [np.zeros((0, 3), np.int64)]
            owners = [np.zeros(0, np.int64)]
            known = {}  # what the meshes of this layout share (not kept: it holds copies)
            for topology, mirrored, offset, owner in self._pending:
                chunked = topology.chunked(known)
                # Wound outwards in the world: a mirroring placement reverses the winding.
                triangles.append((chunked[:, ::-1] if mirrored else chunked) + offset)
                owners.append(np.full(len(chunked) // triangle_rays.CHUNK, owner))
            self._chunks = triangle_rays.TriangleChunks(
                np.concatenate(triangles), np.concatenate(owners)
            )
        return self._chunks

    def cast(self, origins, targets, slots):
        """Every surface crossing on the segments origins[r] -> targets[r] (R,3) in the frames
        stored in ``slots[r]`` (``TriangleChunks.cast``). Reads only the slots from the lowest
        to the highest of ``slots``: the others may be being written meanwhile."""
        if not len(slots):
            return self.chunks.cast(origins, targets, self._planar[:0], slots)
        first, last = int(np.min(slots)), int(np.max(slots))
        planar = self._planar[first : last + 1]
        return self.chunks.cast(origins, targets, planar, slots - first)


def _deforms(obj):
    """Whether an object's shape (not only its placement) may change from frame to frame: any
    modifier may (an armature, physics, and also an animated setting of any other one, a
    driver, geometry nodes reading the time), and so may animated shape keys. Reading such a
    mesh again each frame costs little; missing a change would mislabel."""
    keys = obj.data.shape_keys is not None and obj.data.shape_keys.animation_data is not None
    return len(obj.modifiers) > 0 or keys


def people_bodies(scene):
    """Body meshes of each person armature, in person order."""
    return [scene_model.body_meshes(arm, scene) for arm in scene_model.people(scene)]
