"""Batch generation in one process: memory per subject, and throughput with its split.

    .venv/bin/python benchmarks/bench_batch.py [--subjects 50]            memory over tiny subjects
    .venv/bin/python benchmarks/bench_batch.py --recipe assets/recipes/example.toml   throughput

Memory: builds, exports and clears ``--subjects`` tiny subjects (4 frames, 1-2 mannequins,
occluders, no videos) with ``generate``'s own loop, printing the resident memory (VmRSS) and the
number of datablocks after each; the summary gives the growth per subject over the second half
(the first subjects warm caches up).

Throughput: the recipe's subjects with their videos, timed by stage: scene building (with its
save), the export (frame evaluation, labelling, writing the files), rendering, and publishing the
subject. The frames are evaluated once more, alone, after each build to split the export; the
labels are cast on a thread beside the evaluation, so labelling's share is what it adds.
"""

import argparse
import os
import pathlib
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TINY = """\
seed = 5
frames = 4
[subjects]
count = {count}
[people]
count = [1, 2]
[layout]
presets = ["SIDE_BY_SIDE", "CIRCLE", "RANDOM"]
[scene]
scenarios = ["CAPTURE_ROOM", "OBJECT_OCCLUSION", "RETAIL_AISLE"]
occluders = [0, 2]
[cameras]
heading = 5.0
[render]
videos = false
"""


def rss_mib():
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def datablocks():
    import bpy

    return sum(
        len(getattr(bpy.data, name))
        for name in dir(bpy.data)
        if isinstance(getattr(bpy.data, name, None), bpy.types.bpy_prop_collection)
    )


def memory(count):
    from blendmimic3d_addon.blender.batch import Generator
    from blendmimic3d_addon.core.batch.recipe import parse_recipe

    folder = tempfile.mkdtemp(prefix="bm3d-bench-batch-")
    recipe = parse_recipe(TINY.format(count=count), os.path.join(folder, "tiny.toml"))
    generator = Generator(recipe, os.path.join(folder, "out"), recipe.subjects)
    rows, started = [], time.perf_counter()
    for index, stage in generator.steps():
        if stage == "done":
            rows.append((rss_mib(), datablocks()))
            print(f"subject {index + 1:3d}: RSS {rows[-1][0]:7.1f} MiB, "
                  f"{rows[-1][1]:4d} datablocks", flush=True)  # fmt: skip
    seconds = time.perf_counter() - started
    half = rows[len(rows) // 2 :]
    growth = (half[-1][0] - half[0][0]) / max(len(half) - 1, 1)
    print(
        f"{count} subjects in {seconds:.0f} s; RSS {rows[0][0]:.0f} MiB after the first, "
        f"{rows[-1][0]:.0f} MiB after the last; second half: {growth * 1024:+.0f} KiB per "
        f"subject; datablocks after each: {min(r[1] for r in rows)}-{max(r[1] for r in rows)}"
    )


def throughput(recipe_path, limit):
    import bpy

    from blendmimic3d_addon.blender import batch, camera_job, takes
    from blendmimic3d_addon.core.batch.recipe import read_recipe
    from blendmimic3d_addon.core.format import shards

    recipe = read_recipe(recipe_path)
    names = recipe.subjects[:limit] if limit else recipe.subjects
    out = tempfile.mkdtemp(prefix="bm3d-bench-batch-")
    generator = batch.Generator(recipe, out, names)
    split = {"evaluate": 0.0, "write": 0.0}
    build_subject = batch.build_subject

    def timed_build(scene, recipe, plan):  # the frames evaluated alone once, after each build
        arms = build_subject(scene, recipe, plan)
        sampler = camera_job.JointSampler(scene)
        started = time.perf_counter()
        for take, frame in sampler.frames:
            if take is not None and take in (plan.takes or (take,)):
                takes.play_take(scene, take)
                scene.frame_set(frame)
        split["evaluate"] += time.perf_counter() - started
        sampler.restore()
        return arms

    write_take = shards.write_take

    def timed_write(*args, **kwargs):
        started = time.perf_counter()
        write_take(*args, **kwargs)
        split["write"] += time.perf_counter() - started

    batch.build_subject, shards.write_take = timed_build, timed_write
    try:
        started = time.perf_counter()
        generator.run()
        total = time.perf_counter() - started
    finally:
        batch.build_subject, shards.write_take = build_subject, write_take
    t = generator.timings
    build = t["build"] - split["evaluate"]
    export = t["export"]
    label = export - split["evaluate"] - split["write"]
    print(f"recipe {recipe_path}: {len(names)} subjects in {total:.0f} s on {os.cpu_count()} "
          f"CPU(s), Blender {bpy.app.version_string}: {3600 * len(names) / total:.0f} "
          "subjects per hour")  # fmt: skip
    parts = (("scene building (and .blend save)", build),
             ("frame evaluation", split["evaluate"]),
             ("labelling (beyond evaluation)", label),
             ("writing (data files; publish)", split["write"] + t.get("write", 0.0)),
             (f"rendering ({recipe.render['engine'].title()} videos, {recipe.render['scale']} %)",
              t.get("render", 0.0)))  # fmt: skip
    for name, seconds in parts:
        print(f"  {name:44s} {seconds:7.1f} s  {seconds / total:5.1%}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=50, help="memory: tiny subjects")
    parser.add_argument("--recipe", help="throughput: generate this recipe's subjects")
    parser.add_argument("--limit", type=int, default=0, help="throughput: only the first N")
    args = parser.parse_args(argv)
    from blendmimic3d_addon import register

    register()
    if args.recipe:
        throughput(args.recipe, args.limit)
    else:
        memory(args.subjects)
    return 0


if __name__ == "__main__":
    sys.exit(main())
