"""`a2sb assemble-partitions`: join pipelines trained on separate time ranges into one.

a2sb assemble-partitions low/pipeline high/pipeline --t-cutoffs 0.5 --output a2sb-2split
"""

import argparse
from pathlib import Path

from a2sb.errors import A2SBInputError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register `assemble-partitions` and its arguments."""
    parser = subparsers.add_parser(
        "assemble-partitions",
        help="join pipelines trained on separate ranges of bridge time into one pipeline",
        description=(
            "Join K pipelines, each trained on one range of bridge time, into one pipeline whose "
            "network routes each time t to its partition (paper §3.5)."
        ),
    )
    parser.add_argument(
        "pipelines",
        nargs="+",
        type=Path,
        metavar="DIR",
        help="pipeline folders, ordered by time range (lowest first)",
    )
    parser.add_argument(
        "--t-cutoffs",
        type=float,
        nargs="+",
        required=True,
        metavar="T",
        help="the K - 1 times between the partitions, e.g. 0.5",
    )
    parser.add_argument(
        "--output", type=Path, required=True, metavar="DIR", help="folder to write the pipeline to"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Assemble and save the pipeline; returns the exit code."""
    # Imported here so that `a2sb --help` does not pay for torch and diffusers.
    from a2sb.training.partitions import assemble_partitions

    if args.output.exists() and not args.output.is_dir():
        raise A2SBInputError(f"--output {args.output} is a file; give a folder to write to")
    if any(args.output.resolve() == folder.resolve() for folder in args.pipelines):
        raise A2SBInputError(
            f"--output {args.output} is one of the input pipelines; choose a new folder"
        )
    pipeline = assemble_partitions(args.pipelines, args.t_cutoffs)
    pipeline.save_pretrained(args.output, safe_serialization=True)
    cutoffs = ", ".join(f"{cutoff:g}" for cutoff in args.t_cutoffs)
    partitions = len(args.pipelines)
    print(f"wrote a pipeline of {partitions} partitions (cutoffs {cutoffs}) to {args.output}")
    return 0
