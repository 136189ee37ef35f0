"""``merge SHARD... --out DIR``: merge the shards of a sharded export into one dataset."""

import os

from ..core.format.shards import merge


def add_arguments(parser):
    parser.add_argument("shards", nargs="+", help="the folders written by export --shard K/N")
    parser.add_argument(
        "--out", required=True, help="dataset folder: the subject is written as a folder in it"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing subject")
    parser.add_argument(
        "--keep-shards", action="store_true", help="keep the shard folders after the merge"
    )


def run(args):
    subject_dir = merge(args.shards, args.out, args.overwrite, args.keep_shards)
    print(f"merged {len(args.shards)} shard(s) into {os.path.abspath(subject_dir)}")
    return 0
