"""What COCO's face points cost the export, on a real Mixamo character (bench_export's scene:
four BlendMimic3D cameras, two crates), and where they land on its head.

    .venv/bin/python benchmarks/bench_face_points.py [--frames 120] [--repeat 3]

Times, in one run, the export (ExportJob: 3D, 2D, labels, files) with the face points (read with
the joints, labelled on the joints' ray batches, FacePoints/ written) and without them (the
sampler's face points switched off), best of --repeat each; prints the ratio, the time to find
the points (once per character) and each point's distance to the deformed skin over the frames.
"""

import argparse
import pathlib
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from bench_export import DEFAULT_FBX, build_mixamo_scene, limit_action  # noqa: E402


def time_export(scene, out, face_points):
    import bpy

    from blendmimic3d_addon.blender.export_ops import ExportJob

    job = ExportJob(scene, bpy.context.evaluated_depsgraph_get(), out, "S1", overwrite=True)
    if not face_points:
        job.sampler.face_points = None
    started = time.perf_counter()
    job.run()
    return time.perf_counter() - started


def surface_distances(scene, frames):
    import bpy
    from mathutils import Vector
    from mathutils.bvhtree import BVHTree

    from blendmimic3d_addon.blender import face_points, scene_model

    person = scene_model.people(scene)[0]
    bodies = scene_model.body_meshes(person, scene)
    local = face_points.face_points_of(person, bodies)
    out = []
    for frame in frames:
        scene.frame_set(frame)
        depsgraph = bpy.context.evaluated_depsgraph_get()
        matrix = np.array(person.matrix_world) @ np.array(
            person.pose.bones["mixamorig:Head"].matrix
        )
        world = local @ matrix[:3, :3].T + matrix[:3, 3]
        trees = [(b, BVHTree.FromObject(b, depsgraph)) for b in bodies]
        row = []
        for point in world:
            best = np.inf
            for body, tree in trees:
                found = tree.find_nearest(body.matrix_world.inverted() @ Vector(point))[0]
                if found is not None:
                    best = min(best, (body.matrix_world @ found - Vector(point)).length)
            row.append(best)
        out.append(row)
    return np.array(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fbx", default=str(DEFAULT_FBX))
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    import bpy

    from blendmimic3d_addon.blender import face_points, scene_model

    scene = build_mixamo_scene(args.fbx)
    limit_action(scene, args.frames)
    person = scene_model.people(scene)[0]
    started = time.perf_counter()
    face_points.find_face_points(person, scene_model.body_meshes(person, scene))
    print(f"finding the face points once: {time.perf_counter() - started:.3f} s "
          f"({sum(len(b.data.vertices) for b in scene_model.body_meshes(person, scene))} "
          "vertices)")  # fmt: skip
    with tempfile.TemporaryDirectory() as out:
        times = {True: [], False: []}
        for _ in range(args.repeat):
            for with_faces in (False, True):
                times[with_faces].append(time_export(scene, out, with_faces))
    best = {k: min(v) for k, v in times.items()}
    print(f"export of {args.frames} frames, 4 cameras: without face points {best[False]:.2f} s, "
          f"with {best[True]:.2f} s, ratio {best[True] / best[False]:.2f} "
          f"(best of {args.repeat}; all: {times})")  # fmt: skip
    distances = surface_distances(scene, range(scene.frame_start, scene.frame_start + 120, 20))
    names = ("nose", "left_eye", "right_eye", "left_ear", "right_ear")
    print(
        "largest distance to the deformed skin (mm): "
        + ", ".join(
            f"{n} {d * 1000:.1f}" for n, d in zip(names, distances.max(axis=0), strict=True)
        )
    )
    bpy.ops.wm.read_homefile(use_empty=True)


if __name__ == "__main__":
    main()
