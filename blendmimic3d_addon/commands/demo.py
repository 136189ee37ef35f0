"""``demo``: the product end to end, from the bundled mannequin to a validated dataset with videos.

    python -m blendmimic3d_addon demo --out out/demo          (the .venv with the bpy module)
    blender -b -c blendmimic3d demo --out out/demo

It builds a scene of two people with occluders and four cameras through the extension's own
operators, exports a short dataset, renders low-resolution videos and QA videos, validates the
dataset and prints a summary. Output, written as a whole when everything succeeded:

    <out>/scene.blend             the demo scene, to open in Blender
    <out>/dataset/dataset.json    the manifest
    <out>/dataset/S1/...          the subject: cameras, 3D, 2D, labels, Videos/

``bpy`` is imported only in ``run``, so the command table loads in plain Python.
"""

import contextlib
import os
import sys
import time

from ..core.render.presets import ENGINE_PRESETS

SUBJECT = "S1"
PEOPLE = (("Walk", (0.0, 0.0, 0.0)), ("Wave", (1.2, 0.0, 0.0)))
ACTIONS = ("Walk", "Wave")
# --engine's choices, kept for scripts written before the presets.
# (kind, camera, person): part of a person hidden from two of the four cameras.
OCCLUDERS = (("TABLE", 0, 0), ("BOX", 2, 1))


def add_arguments(parser):
    parser.add_argument("--out", default=os.path.join("out", "demo"), help="output folder")
    parser.add_argument(
        "--frames", type=int, default=30, help="frames per action (default 30: 1 s at 30 fps)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    parser.add_argument(
        "--preset",
        choices=("PREVIEW", "FAST", "REALISTIC"),
        help="video render preset: PREVIEW (Workbench, the default: the quickest without a GPU), "
        "FAST (EEVEE) or REALISTIC (Cycles); see docs/RENDERING.md",
    )
    parser.add_argument(
        "--engine",
        choices=tuple(ENGINE_PRESETS),
        help="the older name of --preset: WORKBENCH, EEVEE or CYCLES",
    )
    parser.add_argument(
        "--environment",
        default="CAPTURE_ROOM",
        choices=("CAPTURE_ROOM", "SHOP", "OUTDOORS", "NONE"),
        help="what the people stand in, lit by its own lighting (default CAPTURE_ROOM)",
    )
    parser.add_argument(
        "--samples", type=int, default=0, help="render samples (default 0: the preset's)"
    )
    parser.add_argument(
        "--scale", type=int, default=20, help="video size in %% of 1000 x 1002 (default 20)"
    )


def run(args):
    import bpy

    from ..core.errors import DatasetError
    from ..core.format.atomic import staged_dir

    if args.frames < 2:
        raise DatasetError(None, "--frames", f"{args.frames}: give at least 2 frames")
    if args.preset and args.engine and args.preset != ENGINE_PRESETS[args.engine]:
        raise DatasetError(None, "--engine", f"{args.engine} is not --preset {args.preset}")
    preset = args.preset or ENGINE_PRESETS.get(args.engine, "PREVIEW")
    if not 1 <= args.scale <= 100:
        raise DatasetError(None, "--scale", f"{args.scale}: give a percentage from 1 to 100")
    out = os.path.abspath(args.out)
    if os.path.exists(out) and not args.overwrite:
        raise DatasetError(out, None, "already exists; choose another --out or pass --overwrite")
    timings = {}
    started = time.perf_counter()
    with _extension_registered(bpy), staged_dir(out, overwrite=args.overwrite) as stage:
        with _timed(timings, "scene"):
            _build_scene(bpy, args.frames, args.environment)
            bpy.ops.wm.save_as_mainfile(filepath=os.path.join(stage, "scene.blend"), copy=True)
        dataset = os.path.join(stage, "dataset")
        with _timed(timings, "export"):
            _op(bpy.ops.blendmimic3d.export_dataset, directory=dataset, subject=SUBJECT,
                actions=",".join(ACTIONS))  # fmt: skip
        print(f"demo: rendering {preset.title()} videos at {args.scale} %, with QA videos",
              flush=True)  # fmt: skip
        with _timed(timings, "videos"), _render_log_silenced():
            _op(bpy.ops.blendmimic3d.render_videos, directory=os.path.join(dataset, SUBJECT),
                preset=preset, samples=args.samples, scale=args.scale,
                qa_video=True)  # fmt: skip
        with _timed(timings, "validate"):
            report = _validate(dataset)
        summary = _summary(dataset, report)
    timings["total"] = time.perf_counter() - started
    print(_format_summary(out, summary, timings))
    return 0


@contextlib.contextmanager
def _extension_registered(bpy):
    """The extension's operators: already there inside Blender, registered for the run otherwise
    (``python -m blendmimic3d_addon`` with the bpy module)."""
    try:
        bpy.ops.blendmimic3d.export_dataset.get_rna_type()
    except KeyError:
        from .. import register, unregister

        register()
        try:
            yield
        finally:
            unregister()
        return
    yield


@contextlib.contextmanager
def _render_log_silenced():
    """Blender prints a few lines per rendered frame on stdout (file descriptor 1, below Python):
    send them to /dev/null meanwhile. Errors still arrive as the operator's exception."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


@contextlib.contextmanager
def _timed(timings, name):
    start = time.perf_counter()
    yield
    timings[name] = time.perf_counter() - start
    print(f"demo: {name} done in {timings[name]:.1f} s", flush=True)


def _op(operator, **kwargs):
    """Run one of the extension's operators; its error report becomes the one-line error."""
    from ..core.errors import DatasetError

    try:
        result = operator(**kwargs)
    except RuntimeError as exc:
        message = str(exc).strip().removeprefix("Error: ")
        raise DatasetError(None, f"demo: {operator.idname_py()}", message) from None
    if result != {"FINISHED"}:
        raise DatasetError(None, f"demo: {operator.idname_py()}", f"ended with {set(result)}")


def _build_scene(bpy, frames, environment="NONE"):
    """Two mannequins side by side, four BlendMimic3D cameras fitted to them, two objects in
    front of them, in ``environment``; every action cut to ``frames`` frames."""
    bpy.ops.wm.read_homefile(use_empty=True)
    for action, location in PEOPLE:
        _op(bpy.ops.blendmimic3d.add_mannequin, action=action, location=location)
    _op(bpy.ops.blendmimic3d.layout_people, preset="SIDE_BY_SIDE", spacing=1.2)
    for name in ACTIONS:
        action = bpy.data.actions[name]
        start = int(round(action.frame_range[0]))
        action.use_frame_range = True
        action.frame_start, action.frame_end = start, start + frames - 1
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = 1, frames
    _op(bpy.ops.blendmimic3d.rig_cameras, preset="BLENDMIMIC3D", fit=True)
    for kind, camera, person in OCCLUDERS:
        _op(bpy.ops.blendmimic3d.add_occluder, kind=kind, placement="BETWEEN",
            camera_index=camera, person_index=person)  # fmt: skip
    if environment != "NONE":
        _op(bpy.ops.blendmimic3d.add_environment, kind=environment)


def _validate(dataset):
    from ..core.errors import DatasetError
    from ..core.validate.dataset import validate_dataset

    report = validate_dataset(dataset)
    if not report.ok:
        lines = "\n".join(f"  {line}" for line in report.problems)
        raise DatasetError(dataset, None, f"the demo dataset does not validate:\n{lines}")
    return report


def _summary(dataset, report):
    """Numbers read back from the files written, not from what was asked for."""
    import numpy as np

    from ..core.format import dataset_io, manifest
    from ..core.occlusion import labels

    subject_dir = os.path.join(dataset, SUBJECT)
    entry = manifest.read_manifest(dataset)["subjects"][SUBJECT]
    cameras = [camera["name"] for camera in entry["cameras"]]
    actions, types_by_cam = {}, [[] for _ in cameras]
    for folder in entry["actions"]:
        actions[folder] = len(dataset_io.read_positions_3d(subject_dir, folder))
        for index, types in enumerate(dataset_io.read_occlusion_types(subject_dir, folder)):
            types_by_cam[index].append(types)
    per_camera = []
    for name, chunks in zip(cameras, types_by_cam, strict=True):
        types = np.concatenate(chunks)
        counts = labels.type_counts(types)
        per_camera.append((name, 1.0 - labels.legacy_labels(types).mean(), counts, types.size))
    files, size, videos = 0, 0, []
    for root, _dirs, names in os.walk(dataset):
        for name in names:
            files += 1
            size += os.path.getsize(os.path.join(root, name))
            if name.endswith(".mp4"):
                videos.append(os.path.join(root, name))
    return {
        "actions": actions,
        "per_camera": per_camera,
        "files": files,
        "bytes": size,
        "videos": sorted(os.path.relpath(v, subject_dir) for v in videos),
        "validate": report.subjects,
    }


def _format_summary(out, summary, timings):
    frames = sum(summary["actions"].values())
    lines = [
        "",
        f"BlendMimic3D demo: {out}",
        f"  actions: {', '.join(f'{a} ({n} frames)' for a, n in summary['actions'].items())}; "
        f"{frames} frames in all",
        f"  files: {summary['files']} in dataset/ ({summary['bytes'] / 1e6:.1f} MB), "
        f"of which {len(summary['videos'])} videos (plain and QA)",
        "  validate: OK (" + "; ".join(f"{s}: {t}" for s, t in summary["validate"].items()) + ")",
        "  occluded share of the primary person's joint-frames, per camera (and by type):",
    ]
    for name, share, counts, total in summary["per_camera"]:
        kinds = ", ".join(
            f"{kind} {count / total:.1%}"
            for kind, count in counts.items()
            if kind != "visible" and count
        )
        lines.append(f"    {name}: {share:.1%}" + (f" ({kinds})" if kinds else ""))
    lines.append(
        "  time: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings.items())
    )
    lines.append(f"  open {os.path.join(out, 'scene.blend')} in Blender to see the scene")
    return "\n".join(lines)
