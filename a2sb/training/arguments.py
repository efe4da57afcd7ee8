"""The command-line arguments of a training run, shared by `a2sb train` and
`accelerate launch -m a2sb.training`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from a2sb.training.config import TrainingConfig


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """Register `--config`, `--init-from`, `--resume`, `--print-config` and the overrides."""
    parser.add_argument(
        "--config",
        type=Path,
        metavar="CONFIG",
        help="training configuration, .yaml or .json (see docs/training.md); "
        "without it, the defaults plus the overrides",
    )
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help="override config values, after the options, e.g. optimizer.learning_rate=1e-4 "
        "data.folders=[/music]",
    )
    parser.add_argument(
        "--init-from",
        metavar="DIR",
        help="start from a pretrained pipeline or model folder (same as model.init_from=DIR)",
    )
    parser.add_argument(
        "--resume",
        metavar="CHECKPOINT",
        help="resume from a checkpoint folder, or from the newest one of output_dir with "
        "'latest' (same as checkpointing.resume_from=...)",
    )
    parser.add_argument(
        "--print-config",
        action="store_true",
        help="print the resolved configuration as YAML and exit",
    )


def config_from_arguments(args: argparse.Namespace) -> TrainingConfig:
    """The configuration of `--config`, the overrides, `--init-from` and `--resume`."""
    # Imported here so that `a2sb --help` does not pay for torch and diffusers.
    from a2sb.training.config import load_training_config

    overrides = list(args.overrides)
    if args.init_from is not None:
        overrides.append(f"model.init_from={args.init_from}")
    if args.resume is not None:
        overrides.append(f"checkpointing.resume_from={args.resume}")
    return load_training_config(args.config, overrides)
