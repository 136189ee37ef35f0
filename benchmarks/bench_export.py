"""Export speed on a real Mixamo character, four BlendMimic3D cameras and two occluders, or on
the crowded scene (``--crowd``: three skinned characters, furniture, four fitted cameras).

    .venv/bin/python benchmarks/bench_export.py [--frames 506] [--fbx path/to/character.fbx]
    .venv/bin/python benchmarks/bench_export.py --crowd --frames 106
    .venv/bin/python benchmarks/bench_export.py --crowd --frames 106 --digest

Measures, on the same scene in one run:
  (a) evaluating the frames alone (``scene.frame_set`` per frame),
  (b) the straightforward labelling loop: cameras outer, frames inner, one ``scene.ray_cast``
      per joint of every person (the first hit decides), frame evaluated again for every camera,
  (c) the export without videos (``ExportJob``: 3D, 2D, labels, files, dataset.json) into a
      new dataset folder, whose occlusion labels are cast on a worker thread while the main
      thread evaluates frames (also printed: once over an existing subject, which it removes),
  (d) the same export with the labels cast on the main thread, in turn with the frames,
and memory (tracemalloc peak, Python allocations) of (c) at two frame counts.
"""

import argparse
import os
import pathlib
import sys
import tempfile
import time
import tracemalloc

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests" / "helpers")]  # the depth check is a test helper
DEFAULT_FBX = REPO.parent / "shared" / "mixamo" / "mixamo_beta.fbx"
# Three skinned characters for --crowd (the same file thrice: each import is its own person).
CROWD_FBX = (DEFAULT_FBX, DEFAULT_FBX, DEFAULT_FBX)


def build_mixamo_scene(fbx, action_name="Dance"):
    """Import ``fbx``, tag its person and bodies, rig the BlendMimic3D cameras around it and put
    two crates between the person and two cameras. Returns the scene."""
    import bpy
    import numpy as np

    from blendmimic3d_addon.blender import camera_job, scene_model

    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.import_scene.fbx(filepath=str(fbx))
    scene = bpy.context.scene
    armature = next(o for o in scene.objects if o.type == "ARMATURE")
    scene_model.set_role(armature, scene_model.PERSON, **{scene_model.PERSON_INDEX: 0})
    for mesh in scene_model.body_meshes(armature, scene):
        scene_model.set_role(mesh, scene_model.BODY)
    action = armature.animation_data.action
    action.name = action_name
    action.use_fake_user = True
    scene_model.add_person_action(armature, action.name)
    start, end = (int(round(v)) for v in action.frame_range)
    scene.frame_start, scene.frame_end = start, end
    scene.frame_set(start)

    hips = np.array(armature.matrix_world @ armature.pose.bones["mixamorig:Hips"].head)
    rig = camera_job.make_rig(scene, {"preset": "BLENDMIMIC3D"}, target=hips)
    cameras = camera_job.build_rig(scene, rig)
    # Crates on the lines from the person to cameras 0 and 2, 1.2 m in front of the person.
    for i in (0, 2):
        direction = np.array(cameras[i].location) - hips
        direction[2] = 0.0
        direction /= np.linalg.norm(direction)
        bpy.ops.mesh.primitive_cube_add(
            size=1.0, location=(*(hips[:2] + 1.2 * direction[:2]), 0.45)
        )
        crate = bpy.context.active_object
        crate.name = f"Crate{i}"
        crate.scale = (0.9, 0.9, 0.9)
        scene_model.set_role(crate, scene_model.OCCLUDER, **{scene_model.KIND: "crate"})
    scene.frame_set(start)
    return scene


def build_crowd_scene(fbx_paths, frames):
    """The crowded scene: every FBX of ``fbx_paths`` imported as a skinned person (through the
    extension's importer), side by side, the BlendMimic3D cameras fitted to them and the Object
    Occlusion scenario's furniture between each camera and the primary person; every take cut to
    ``frames``. Returns (scene, triangles of the evaluated meshes)."""
    import bpy

    from blendmimic3d_addon import register
    from blendmimic3d_addon.blender import camera_job, mixamo_import, scene_model

    try:
        bpy.ops.blendmimic3d.export_dataset.get_rna_type()
    except KeyError:
        register()
    bpy.ops.wm.read_homefile(use_empty=True)
    for path in fbx_paths:
        mixamo_import.import_file(bpy.context, str(path))
    scene = bpy.context.scene
    for action in bpy.data.actions:
        start = int(round(action.frame_range[0]))
        action.use_frame_range = True
        action.frame_start, action.frame_end = start, start + frames - 1
    bpy.ops.blendmimic3d.layout_people(preset="SIDE_BY_SIDE", spacing=1.0)
    cameras, _ = camera_job.rig_scene(scene, {"preset": "BLENDMIMIC3D"})
    camera_job.fit_now(scene, cameras, "DISTANCE", 0.05, 4, True)
    bpy.ops.blendmimic3d.apply_scenario(scenario="OBJECT_OCCLUSION")
    depsgraph = bpy.context.evaluated_depsgraph_get()
    triangles = 0
    for obj in scene.objects:
        if obj.type == "MESH":
            mesh = obj.evaluated_get(depsgraph).to_mesh()
            mesh.calc_loop_triangles()
            triangles += len(mesh.loop_triangles)
            obj.evaluated_get(depsgraph).to_mesh_clear()
    people = scene_model.people(scene)
    scene.frame_set(scene.frame_start)
    return scene, triangles, len(people)


def frames_of(scene, count):
    from blendmimic3d_addon.blender import scene_model
    from blendmimic3d_addon.blender.takes import frame_range

    person = scene_model.people(scene)[0]
    start, end = frame_range(person.animation_data.action)
    return list(range(start, min(end, start + count - 1) + 1))


def limit_action(scene, count):
    """Make the take ``count`` frames long (the action's manual frame range)."""
    from blendmimic3d_addon.blender import scene_model

    action = scene_model.people(scene)[0].animation_data.action
    start = int(round(action.frame_range[0]))
    action.use_frame_range = True
    action.frame_start, action.frame_end = start, start + count - 1


def time_evaluation(scene, frames):
    started = time.perf_counter()
    for frame in frames:
        scene.frame_set(frame)
    return time.perf_counter() - started


def straightforward_labels(scene, frames):
    """Cameras outer, frames inner; one scene ray cast per joint; the joint is visible when the
    first hit is its own body (or nothing). Returns visible (F,C,17) bool."""
    import bpy
    import numpy as np

    from blendmimic3d_addon.blender import scene_model
    from blendmimic3d_addon.core.joints import bm3d_bone_names

    people = scene_model.people(scene)
    bodies = [set(scene_model.body_meshes(person, scene)) for person in people]
    names = [bm3d_bone_names(person.pose.bones.keys()) for person in people]
    cameras = scene_model.dataset_cameras(scene)
    visible = np.zeros((len(frames), len(cameras), len(people), 17), dtype=bool)
    for c, camera in enumerate(cameras):
        origin = camera.matrix_world.translation
        for f, frame in enumerate(frames):
            scene.frame_set(frame)
            depsgraph = bpy.context.evaluated_depsgraph_get()
            for p, person in enumerate(people):
                for j, name in enumerate(names[p]):
                    joint = person.matrix_world @ person.pose.bones[name].head
                    direction = joint - origin
                    hit, _, _, _, obj, _ = scene.ray_cast(
                        depsgraph, origin, direction.normalized(), distance=direction.length
                    )
                    visible[f, c, p, j] = (not hit) or (obj.original in bodies[p])
    return visible


def time_straightforward(scene, frames):
    started = time.perf_counter()
    visible = straightforward_labels(scene, frames)
    return time.perf_counter() - started, float(visible.mean())


def render_check(scene, frames):
    """Agreement with the render: the exporter's labels, and the straightforward loop's."""
    import bpy
    from depth_check import run_depth_check

    from blendmimic3d_addon.core.occlusion.classify import agreement

    check = run_depth_check(scene, bpy.context.evaluated_depsgraph_get(), "Dance", frames)
    simple = straightforward_labels(scene, check.frames)
    print(f"render check, {check.entries} joint-camera entries of frames {check.frames}: "
          f"export labels agree {check.agreement:.1%}, straightforward loop "
          f"{agreement(simple[:, :, 0], check.render_visible[:, :, 0]):.1%}")  # fmt: skip


def time_export(scene, out, pipelined=True, fresh=True):
    """Seconds to export the take into ``out`` (``fresh``: into a new dataset folder inside it,
    removed afterwards, untimed: a first export, not the removal of an older one)."""
    import shutil

    import bpy

    from blendmimic3d_addon.blender import sampling
    from blendmimic3d_addon.blender.export_job import ExportJob

    root = tempfile.mkdtemp(dir=out) if fresh else out
    job = ExportJob(scene, bpy.context.evaluated_depsgraph_get(), root, "S1", overwrite=True)
    sampling.PIPELINED = pipelined
    try:
        started = time.perf_counter()
        job.run()
        return time.perf_counter() - started
    finally:
        sampling.PIPELINED = True
        if fresh:
            shutil.rmtree(root)


def print_digest(scene, out):
    """Export once; print each written file's SHA-256 (the labels, 2D, 3D and cameras)."""
    import hashlib

    time_export(scene, out, fresh=False)
    for path in sorted(pathlib.Path(out).rglob("*")):
        if path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
            print(f"{digest}  {path.relative_to(out)}")


def export_peak_memory(scene, out, count):
    limit_action(scene, count)
    tracemalloc.start()
    time_export(scene, out)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fbx", default=str(DEFAULT_FBX))
    parser.add_argument(
        "--frames", type=int, default=506,
        help="frames for (a) to (d); the default is the whole take (the export's one-off set-up, "
        "about 0.15 s, weighs on short runs)",
    )  # fmt: skip
    parser.add_argument("--memory-frames", default="120,480", help="two frame counts for memory")
    parser.add_argument("--repeat", type=int, default=3, help="runs of (a), (b), (c); best kept")
    parser.add_argument(
        "--render-check", type=int, default=0, metavar="F",
        help="also compare both labellers with a Cycles index/depth render of F frames",
    )  # fmt: skip
    parser.add_argument(
        "--crowd", action="store_true",
        help="the crowded scene instead: three skinned Mixamo characters (--crowd-fbx), the "
        "Object Occlusion furniture and four fitted cameras",
    )  # fmt: skip
    parser.add_argument("--crowd-fbx", default=",".join(map(str, CROWD_FBX)))
    parser.add_argument(
        "--digest", action="store_true",
        help="only export once and print the SHA-256 of every file written (run it on two "
        "checkouts to compare their labels byte for byte)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    paths = args.crowd_fbx.split(",") if args.crowd else [args.fbx]
    absent = [p for p in paths if not os.path.isfile(p)]
    if absent:
        print(f"skipped: {absent[0]} is absent (the shared Mixamo files)")
        return 0
    import bpy

    if args.crowd:
        scene, triangles, people = build_crowd_scene(paths, args.frames)
        what = (f"{people} skinned Mixamo characters, {triangles:,} triangles, Object Occlusion "
                "furniture")  # fmt: skip
        targets = "(b)/(c) >= 15x, (c)/(a) <= 2x"
    else:
        scene = build_mixamo_scene(args.fbx)
        limit_action(scene, args.frames)
        what = f"{pathlib.Path(args.fbx).name}, 2 crates"
        targets = "(b)/(c) >= 10x, (c)/(a) <= 3x"
    frames = frames_of(scene, args.frames)
    n = len(frames)
    out = tempfile.mkdtemp(prefix="bm3d-bench-")
    if args.digest:
        print_digest(scene, out)
        return 0
    time_evaluation(scene, frames[:5])  # warm-up
    # The three in turn, several times; the best of each (the machine may be shared).
    # (a) is timed before each of the others: the best of these three times as many short runs
    # is the less likely to have met a busy spell only, which would flatter the ratios.
    runs = [
        (time_evaluation(scene, frames), *time_straightforward(scene, frames),
         time_evaluation(scene, frames), time_export(scene, out),
         time_evaluation(scene, frames), time_export(scene, out, pipelined=False))
        for _ in range(args.repeat)
    ]  # fmt: skip
    a = min(run[i] for run in runs for i in (0, 3, 5))
    b, c, d = (min(run[i] for run in runs) for i in (1, 4, 6))
    cpu_started = time.process_time()
    a_wall = time_evaluation(scene, frames)
    a_cpu = time.process_time() - cpu_started  # Blender's own threads included
    visible = runs[0][2]
    print(f"scene: {what}, {n} frames, 4 cameras, 17 joints per person")
    from blendmimic3d_addon.core.occlusion import native_cast

    print(f"Blender {bpy.app.version_string}, {os.cpu_count()} CPU(s); occlusion casting: "
          f"{native_cast.status()} (python3 build.py setup builds the kernel)")  # fmt: skip
    print(f"best of {args.repeat} runs of each, taken in turn ((a) before each of the others)")
    print(f"(a) evaluate frames only      {a:8.2f} s  {a / n * 1000:7.1f} ms/frame "
          f"(CPU time {a_cpu / a_wall:.1f}x the wall time: Blender's threads)")  # fmt: skip
    print(f"(b) straightforward loop      {b:8.2f} s  {b / n * 1000:7.1f} ms/frame "
          f"(visible share {visible:.1%})")  # fmt: skip
    print(f"(c) export, no videos         {c:8.2f} s  {c / n * 1000:7.1f} ms/frame")
    print(f"(d) (c), labels in turn       {d:8.2f} s  {d / n * 1000:7.1f} ms/frame")
    print(f"(b)/(c) = {b / c:.1f}x faster; (c)/(a) = {c / a:.2f}x (targets: {targets})")
    print(f"without the labelling thread: (b)/(d) = {b / d:.1f}x, (d)/(a) = {d / a:.2f}x")
    # (c) writes a new dataset folder each time; over an existing subject the export also
    # removes the older folder once the new one is in place (its cost is the disk's).
    time_export(scene, out, fresh=False)
    over = time_export(scene, out, fresh=False)
    print(f"(c) over an existing subject {over / n * 1000:6.1f} ms/frame (older folder removed)")
    if args.render_check and not args.crowd:
        render_check(scene, args.render_check)
    counts = [int(v) for v in args.memory_frames.split(",")]
    peaks = [export_peak_memory(scene, out, count) for count in counts]
    print("memory (tracemalloc peak of the export): " + ", ".join(
        f"{count} frames {peak / 2**20:.1f} MiB" for count, peak in zip(counts, peaks, strict=True)
    ))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
