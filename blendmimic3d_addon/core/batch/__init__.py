"""Batch generation: recipes (``recipe``), per-subject plans drawn from them (``plan``), which
subject a shard does and what is complete (``work``), SLURM job scripts (``slurm``)."""
