"""How long fit_cameras takes: real Mixamo characters (skinned, animated), four cameras.

    .venv/bin/python benchmarks/bench_camera_fit.py [--people 3] [--repeat 1]

Imports ../shared/mixamo/*.fbx (people cycle through the files), lays them 1.5 m apart, rigs the
BlendMimic3D cameras without fitting, then times ``bpy.ops.blendmimic3d.fit_cameras`` (every
frame of every take) and prints frames, seconds and frames per second. Needs the extension
enabled from this checkout (done here the way the tests do it) and the shared folder.
"""

import argparse
import pathlib
import sys
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    import bpy
    import conftest

    fbx = sorted((conftest.SHARED / "mixamo").glob("*.fbx"))
    if not fbx:
        sys.exit(f"no Mixamo files in {conftest.SHARED / 'mixamo'}")
    module = next(conftest.addon.__wrapped__())  # enable the extension as the tests do
    print("extension:", module)
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    for i in range(args.people):
        before = set(bpy.data.objects)
        bpy.ops.import_scene.fbx(filepath=str(fbx[i % len(fbx)]))
        armature = next(o for o in set(bpy.data.objects) - before if o.type == "ARMATURE")
        armature.location.x += 1.5 * i
        armature["bm3d_role"], armature["bm3d_person_index"] = "person", i
    bpy.ops.blendmimic3d.rig_cameras(preset="BLENDMIMIC3D", fit=False)
    for _ in range(args.repeat):
        start = time.perf_counter()
        bpy.ops.blendmimic3d.fit_cameras(fit_mode="DISTANCE", margin=0.05)
        seconds = time.perf_counter() - start
        from bl_ext.bm3d_dev.blendmimic3d.blender.camera_job import fit_frames

        frames = len(fit_frames(scene))
        print(
            f"{args.people} people, {frames} frames, 4 cameras: {seconds:.2f} s, "
            f"{frames / seconds:.0f} frames/s"
        )


if __name__ == "__main__":
    main()
