"""``slurm``: a recipe as a SLURM job array, and the job that finishes the dataset after it.

    python -m blendmimic3d_addon slurm RECIPE --out DIR --array N [--partition P] [--time T]
        [--cpus C] [--mem M] [--subjects S10-S19] [--launcher "blender -b -c blendmimic3d"]
        [--submit]

Writes ``DIR/slurm/generate.sbatch`` (array task K runs ``generate --shard K/N``) and
``DIR/slurm/finish.sbatch`` (``generate --finish``: dataset.json and validate). With ``--submit``
it submits the array, then the finishing job with ``--dependency=afterok:<array job>``, and
prints both job ids. Resubmitting after a failed or cancelled task redoes only what is missing.
Runs in plain Python (no bpy).
"""

import os
import shlex
import subprocess
import sys


def add_arguments(parser):
    parser.add_argument("recipe", help="the recipe file (TOML)")
    parser.add_argument("--out", required=True, help="output folder, on a disk every node sees")
    parser.add_argument("--array", type=int, required=True, help="number of array tasks")
    parser.add_argument("--partition", help="sbatch --partition")
    parser.add_argument("--time", help="sbatch --time per task, e.g. 2:00:00")
    parser.add_argument("--cpus", type=int, help="sbatch --cpus-per-task")
    parser.add_argument("--mem", help="sbatch --mem per task, e.g. 8G")
    parser.add_argument("--subjects", default="", help="which subjects: S10-S19, or a list")
    parser.add_argument(
        "--launcher",
        help="command that starts this command line on the nodes (default: how this one was "
        "started, e.g. 'blender -b -c blendmimic3d')",
    )
    parser.add_argument("--submit", action="store_true", help="submit with sbatch")


def default_launcher():
    """(words, env) that run this extension's command line again, as this process does."""
    bpy = sys.modules.get("bpy")
    binary = getattr(getattr(bpy, "app", None), "binary_path", "") if bpy else ""
    if binary:
        return [binary, "-b", "-c", "blendmimic3d"], {}
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return [sys.executable, "-m", os.path.basename(package)], {
        "PYTHONPATH": os.path.dirname(package)
    }


def run(args):
    from ..core.batch import recipe as recipe_core
    from ..core.batch import slurm
    from ..core.errors import DatasetError
    from ..core.format.atomic import atomic_file

    recipe = recipe_core.read_recipe(args.recipe)
    names = recipe_core.select_subjects(recipe, args.subjects)
    if args.array > len(names):
        raise DatasetError(
            None, "--array", f"{args.array} tasks for {len(names)} subject(s): some would idle"
        )
    out = os.path.abspath(args.out)
    launcher, env = (shlex.split(args.launcher), {}) if args.launcher else default_launcher()
    array_text, finish_text = slurm.scripts(
        launcher, recipe.path, out, args.array, args.subjects, os.getcwd(), env,
        args.partition, args.time, args.cpus, args.mem,
    )  # fmt: skip
    folder = os.path.join(out, "slurm")
    paths = []
    for name, text in ((slurm.ARRAY_SCRIPT, array_text), (slurm.FINISH_SCRIPT, finish_text)):
        path = os.path.join(folder, name)
        with atomic_file(path, "w") as handle:
            handle.write(text)
        paths.append(path)
    print(f"wrote {paths[0]} ({args.array} tasks for {len(names)} subjects) and {paths[1]}")
    if not args.submit:
        print(f"submit with: sbatch --parsable {paths[0]}, then "
              f"sbatch --dependency=afterok:<job id> {paths[1]}")  # fmt: skip
        return 0
    array_job = slurm.parse_job_id(_sbatch(["--parsable", paths[0]]))
    finish_job = slurm.parse_job_id(
        _sbatch(["--parsable", f"--dependency=afterok:{array_job}", paths[1]])
    )
    print(f"submitted array job {array_job} and finishing job {finish_job}")
    return 0


def _sbatch(arguments):
    from ..core.errors import DatasetError

    try:
        done = subprocess.run(["sbatch", *arguments], capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise DatasetError(None, "sbatch", "not found: is this a SLURM login node?") from None
    except subprocess.TimeoutExpired:
        raise DatasetError(None, "sbatch", "no answer in 120 s") from None
    if done.returncode != 0:
        raise DatasetError(None, "sbatch", done.stderr.strip() or f"exit {done.returncode}")
    return done.stdout
