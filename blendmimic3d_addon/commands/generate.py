"""``generate``: many subjects from one recipe (docs/RECIPES.md).

    python -m blendmimic3d_addon generate RECIPE --out DIR [--subjects S10-S19] [--shard K/N]
    blender -b -c blendmimic3d generate RECIPE --out DIR ...
    ... generate RECIPE --out DIR --finish        (after the shards: dataset.json and validate)

Each subject is built from (seed, subject name) alone, saved as ``DIR/scenes/<S>.blend``,
exported to ``DIR/dataset/<S>`` and rendered. Complete subjects are skipped, so a rerun does only
what is missing. Without ``--shard``, ``dataset.json`` is written and the dataset validated once
every subject of the recipe is complete; with it, ``--finish`` does that after the last shard.
Progress goes to stderr as ``progress: <subject> <i>/<n> <stage>`` lines.

``bpy`` is imported only in ``run``, so the command table loads in plain Python.
"""

import os
import sys
import time


def add_arguments(parser):
    parser.add_argument("recipe", help="the recipe file (TOML)")
    parser.add_argument("--out", required=True, help="output folder (dataset/, scenes/ in it)")
    parser.add_argument(
        "--subjects", default="", help="which subjects: S10-S19, or a comma-separated list"
    )
    parser.add_argument(
        "--shard", metavar="K/N", help="do every N-th of the chosen subjects from the K-th"
    )
    parser.add_argument(
        "--finish",
        action="store_true",
        help="generate nothing: write dataset.json from the complete subjects and validate",
    )


def run(args):
    from ..core.batch import recipe as recipe_core
    from ..core.format.shards import parse_shard

    recipe = recipe_core.read_recipe(args.recipe)
    names = recipe_core.select_subjects(recipe, args.subjects)
    out = os.path.abspath(args.out)
    if os.path.exists(out) and not os.path.isdir(out):
        from ..core.errors import DatasetError

        raise DatasetError(out, "--out", "is a file, not a folder")
    if args.finish:
        return _finish(out, names)
    shard = parse_shard(args.shard) if args.shard else None
    mine = recipe_core.shard_subjects(names, shard)
    started = time.perf_counter()
    generator = _generate(recipe, out, mine)
    seconds = time.perf_counter() - started
    skipped = len(mine) - len(generator.todo)
    split = ", ".join(f"{k} {v:.1f} s" for k, v in generator.timings.items())
    print(f"generated {len(generator.done)} subject(s), skipped {skipped} complete, "
          f"in {seconds:.1f} s ({split or 'nothing to do'}) into {out}")  # fmt: skip
    if shard is None and len(names) == len(recipe.subjects):
        return _finish(out, names)
    return 0


def _generate(recipe, out, names):
    import bpy

    from ..blender.batch import Generator
    from .demo import _extension_registered, _render_log_silenced

    def log(text):
        print(text, file=sys.stderr, flush=True)

    generator = Generator(recipe, out, names, log)
    with _extension_registered(bpy), _render_log_silenced():
        last = None
        for index, stage in generator.steps():
            if (index, stage) != last:
                last = (index, stage)
                log(f"progress: {generator.todo[index]} {index + 1}/{len(generator.todo)} {stage}")
    return generator


def _finish(out, names):
    from ..core.batch import work
    from ..core.validate.dataset import validate_dataset

    path = work.finish(out, names)
    report = validate_dataset(work.dataset_dir(out))
    if not report.ok:
        for line in report.problems:
            print(f"  {line}", file=sys.stderr)
        print(f"error: {work.dataset_dir(out)} does not validate", file=sys.stderr)
        return 1
    print(f"wrote {path}: {len(names)} subject(s); validate: OK")
    return 0
