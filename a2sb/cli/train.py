"""`a2sb train`: train an A2SB network from a configuration file.

    a2sb train --config train.yaml data.folders=[/music] max_steps=20000

Several GPUs or machines: `accelerate launch -m a2sb.training --config train.yaml ...` takes
the same arguments (see docs/training.md).
"""

import argparse

from a2sb.cli.console import Console
from a2sb.training.arguments import add_training_arguments, config_from_arguments


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register `train` and its arguments."""
    parser = subparsers.add_parser(
        "train",
        help="train an A2SB network (one process; use accelerate launch -m a2sb.training for more)",
        description=(
            "Train an A2SB network with Hugging Face Accelerate from a YAML/JSON configuration "
            "with KEY=VALUE overrides; writes checkpoints and a ready pipeline to output_dir."
        ),
    )
    add_training_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Train (or print the configuration), showing the library's log lines between the
    progress bars; returns the exit code."""
    # Imported here so that `a2sb --help` does not pay for torch and diffusers.
    from a2sb.training.config import config_to_yaml
    from a2sb.training.trainer import train

    config = config_from_arguments(args)
    if args.print_config:
        print(config_to_yaml(config), end="")
        return 0
    with Console().library_logs():
        train(config)
    return 0
