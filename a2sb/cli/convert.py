"""`a2sb convert-official`: turn released A2SB `.ckpt` files into a diffusers pipeline folder.

    a2sb convert-official A2SB_twosplit_0.0_0.5_release.ckpt A2SB_twosplit_0.5_1.0_release.ckpt \
        --output a2sb-twosplit

One file gives a `RoPEUNet2DModel`; several give an `A2SBPartitionedModel`, and the pipeline's
scheduler routes t to them with cutoffs from the t-ranges in the file names (or `--t-cutoffs`).
The folder (`model_index.json`, safetensors weights) loads with `A2SBPipeline.from_pretrained`
or `a2sb restore --model FOLDER`, so the pickles are read once.
"""

import argparse
from pathlib import Path

from a2sb.errors import A2SBInputError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register `convert-official` and its arguments."""
    parser = subparsers.add_parser(
        "convert-official",
        help="convert released A2SB checkpoints (.ckpt) to a pipeline folder",
        description=(
            "Convert NVIDIA's released A2SB Lightning checkpoints to an A2SB pipeline folder "
            "(model_index.json + safetensors; the scheduler holds the partitions' t-cutoffs), "
            "for a2sb restore --model DIR. The released weights are under NVIDIA's "
            "non-commercial licence."
        ),
    )
    parser.add_argument(
        "checkpoints",
        nargs="+",
        type=Path,
        metavar="CKPT",
        help="release file(s); several files form one partitioned model",
    )
    parser.add_argument(
        "--output", type=Path, required=True, metavar="DIR", help="folder to write the pipeline to"
    )
    parser.add_argument(
        "--t-cutoffs",
        type=float,
        nargs="+",
        metavar="T",
        help="cutoffs between partitions, in the order of the files "
        "(default: read the t-ranges from the file names, e.g. _0.5_1.0_)",
    )
    parser.add_argument(
        "--num-attention-heads",
        type=int,
        default=8,
        help="attention heads of the network (not stored in the weights; 8 in the release)",
    )
    parser.add_argument(
        "--trust-checkpoint",
        action="store_true",
        help="unpickle the files fully if they hold more than tensors; this can run code "
        "from the file, so use it only for files you trust",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Convert the checkpoints and save the model folder; returns the exit code."""
    # Imported here so that `a2sb --help` does not pay for torch and diffusers.
    from a2sb.models import A2SBPartitionedModel
    from a2sb.pipelines.official_release import release_pipeline

    if args.output.exists() and not args.output.is_dir():
        raise A2SBInputError(f"--output {args.output} is a file; give a folder to write to")
    pipeline = release_pipeline(
        [Path(path) for path in args.checkpoints],
        t_cutoffs=args.t_cutoffs,
        num_attention_heads=args.num_attention_heads,
        trust_checkpoint=args.trust_checkpoint,
    )
    pipeline.save_pretrained(args.output, safe_serialization=True)
    if isinstance(pipeline.unet, A2SBPartitionedModel):
        cutoffs = ", ".join(str(cutoff) for cutoff in pipeline.scheduler.config.t_cutoffs)
        partitions = len(pipeline.unet.partitions)
        described = f"A2SBPartitionedModel ({partitions} partitions, cutoffs {cutoffs})"
    else:
        described = "RoPEUNet2DModel"
    print(f"wrote an A2SB pipeline with a {described} to {args.output}")
    return 0
