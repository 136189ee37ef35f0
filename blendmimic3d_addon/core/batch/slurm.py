"""SLURM job scripts for a recipe: a job array whose task K runs ``generate --shard K/N``, and a
finishing job (``generate --finish``: dataset.json and validate) that waits for the whole array
(``--dependency=afterok``). Text only here; ``commands/slurm.py`` writes and submits them.
"""

import re
import shlex

from ..errors import DatasetError

ARRAY_SCRIPT = "generate.sbatch"
FINISH_SCRIPT = "finish.sbatch"
_TIME = re.compile(r"^(\d+-)?\d{1,2}(:\d{2}){0,2}$|^\d+$")
_MEMORY = re.compile(r"^\d+[KMGT]?$")
_PARTITION = re.compile(r"^[A-Za-z0-9_.,-]{1,64}$")
MAX_ARRAY = 100_000


def check_options(array, partition=None, time=None, cpus=None, mem=None):
    """Refuse values sbatch would refuse, before anything is written or submitted."""
    if not 1 <= array <= MAX_ARRAY:
        raise DatasetError(None, "--array", f"{array}: give 1 to {MAX_ARRAY} tasks")
    if partition is not None and not _PARTITION.match(partition):
        raise DatasetError(None, "--partition", f"{partition!r} is not a partition name")
    if time is not None and not _TIME.match(time):
        raise DatasetError(None, "--time", f"{time!r}: give minutes, H:MM:SS or D-HH:MM:SS")
    if cpus is not None and not 1 <= cpus <= 4096:
        raise DatasetError(None, "--cpus", f"{cpus}: give 1 to 4096")
    if mem is not None and not _MEMORY.match(mem):
        raise DatasetError(None, "--mem", f"{mem!r}: give a size such as 4G or 8000M")


def _header(name, log_dir, partition, time, cpus, mem, extra=()):
    lines = ["#!/bin/bash", f"#SBATCH --job-name={name}", *extra]
    if partition:
        lines.append(f"#SBATCH --partition={partition}")
    if time:
        lines.append(f"#SBATCH --time={time}")
    if cpus:
        lines.append(f"#SBATCH --cpus-per-task={cpus}")
    if mem:
        lines.append(f"#SBATCH --mem={mem}")
    return lines


def scripts(launcher, recipe, out, array, subjects="", workdir=None, env=None, partition=None,
            time=None, cpus=None, mem=None, name="bm3d-generate"):  # fmt: skip
    """(array script, finish script) texts. ``launcher``: the command words that start the
    extension's command line (``python -m blendmimic3d_addon`` or ``blender -b -c blendmimic3d``);
    ``env``: {name: value} exported first (PYTHONPATH for the module form)."""
    check_options(array, partition, time, cpus, mem)
    quote = shlex.quote
    command = " ".join(quote(str(w)) for w in launcher)
    select = f" --subjects {quote(subjects)}" if subjects else ""
    logs = f"{out}/slurm"
    prologue = ["set -euo pipefail"]
    if workdir:
        prologue.append(f"cd {quote(str(workdir))}")
    prologue += [f"export {k}={quote(str(v))}" for k, v in sorted((env or {}).items())]
    array_lines = _header(
        name, logs, partition, time, cpus, mem,
        [f"#SBATCH --array=1-{array}", f"#SBATCH --output={logs}/%x-%A_%a.out"],
    )  # fmt: skip
    array_lines += [
        "# Task K of the array makes every N-th subject from the K-th; complete subjects are",
        "# skipped, so resubmitting the same script finishes what a killed task left.",
        *prologue,
        f"exec {command} generate {quote(str(recipe))} --out {quote(str(out))}{select} "
        f'--shard "${{SLURM_ARRAY_TASK_ID}}/{array}"',
    ]
    finish_lines = _header(
        f"{name}-finish", logs, partition, "0:30:00" if time else None, 1, mem,
        [f"#SBATCH --output={logs}/%x-%j.out"],
    )  # fmt: skip
    finish_lines += [
        "# Runs once every array task succeeded (sbatch --dependency=afterok:<array job>).",
        *prologue,
        f"exec {command} generate {quote(str(recipe))} --out {quote(str(out))}{select} --finish",
    ]
    return "\n".join(array_lines) + "\n", "\n".join(finish_lines) + "\n"


def parse_job_id(text):
    """The job id from ``sbatch --parsable`` output (``123`` or ``123;cluster``)."""
    first = text.strip().splitlines()[-1] if text.strip() else ""
    job = first.split(";", 1)[0]
    if not job.isdigit():
        raise DatasetError(None, "sbatch", f"did not answer a job id: {text.strip()[:200]!r}")
    return job
