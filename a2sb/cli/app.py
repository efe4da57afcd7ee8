"""`a2sb app`: a web page that restores one file at a time with the models chosen at start.

    a2sb app                                   # the bundled a2sb-small on 127.0.0.1:7860
    a2sb app --model a2sb-small --model ./my-pipeline --port 8000

The page (`a2sb.cli.web_app`, Gradio) restores through the code of `a2sb restore`; only the
models named here can be used, and no path or Hub id typed into the page is ever loaded.
Gradio is an optional extra, `pip install "a2sb[app]"`; docs/app.md is the reference.
"""

from __future__ import annotations

import argparse
import math

from a2sb.cli.option_values import DEFAULT_HOST, DEVICES, check_within
from a2sb.errors import A2SBInputError
from a2sb.names import DTYPES

DEFAULT_MAX_FILE_MB = 100.0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register `app` and its arguments."""
    parser = subparsers.add_parser(
        "app",
        help="a web page to restore files in the browser (needs a2sb[app])",
        description=(
            "Serve a web page (Gradio) that restores one uploaded or recorded file at a time: "
            "bandwidth extension or inpainting, audio players and spectrograms before and "
            "after, the result as wav or flac. Only the models given with --model can be "
            'used. Needs the app extra: pip install "a2sb[app]".'
        ),
    )
    parser.add_argument(
        "--model",
        action="append",
        metavar="ID_OR_PATH",
        help="a model the page may use (repeat for several; the page offers them in a list): "
        "a2sb-small (bundled, the default), a local folder of a saved pipeline, or a Hub id",
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}: this machine only; 0.0.0.0 "
        "serves every network the machine is on)",
    )
    parser.add_argument(
        "--port", type=int, help="port to listen on (default 7860, or the next free one)"
    )
    parser.add_argument(
        "--max-file-mb",
        type=float,
        default=DEFAULT_MAX_FILE_MB,
        metavar="MB",
        help=f"largest upload accepted, in MB of 2^20 bytes (default {DEFAULT_MAX_FILE_MB:g})",
    )
    parser.add_argument(
        "--release-variant",
        choices=["twosplit", "onesplit"],
        default="twosplit",
        help="for the released model: two partitions (the paper's best, default) or one",
    )
    parser.add_argument(
        "--device",
        choices=DEVICES,
        default="auto",
        help="default auto: the GPU, else MPS, else the CPU",
    )
    parser.add_argument(
        "--dtype",
        choices=DTYPES,
        default="auto",
        help="precision of the models (default auto: bf16 on a CPU with AVX-512 BF16, else fp32)",
    )
    # The page never unpickles: released checkpoints load weights-only, or not at all.
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load the models and serve the page until interrupted; returns 0."""
    check_app_options(args)
    # Imported here so that `a2sb --help` needs neither gradio nor torch.
    from a2sb.cli.web_app import serve

    return serve(args)


def check_app_options(args: argparse.Namespace) -> None:
    """Refuse a `--port` no machine has and a `--max-file-mb` that is not a positive size.

    Raises:
        A2SBInputError: either is out of range.
    """
    if args.port is not None:
        check_within("--port", args.port, 1, 65535)
    if not (math.isfinite(args.max_file_mb) and args.max_file_mb > 0):
        raise A2SBInputError(
            f"--max-file-mb {args.max_file_mb:g} is not a positive size; give MB, e.g. "
            f"--max-file-mb {DEFAULT_MAX_FILE_MB:g}"
        )
