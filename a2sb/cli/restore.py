"""`a2sb restore`: restore many audio files, on one device or on many processes.

    a2sb restore album/ -o restored/                  # bandwidth extension, cutoff detected
    a2sb restore take.wav --gap 1:02.5-1:03           # inpaint a dropout
    accelerate launch -m a2sb restore archive/ -o out # one process per GPU

Options and inputs are checked before the model is loaded; a file that fails later does not
stop the others. The work is done in `a2sb.cli.restore_batch`; docs/cli.md is the reference.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from a2sb.cli.inputs import OUTPUT_FORMATS
from a2sb.cli.option_values import DEVICES
from a2sb.io.full_scale import CLIP_MODES
from a2sb.names import DTYPES, SAMPLER_NAMES, TASK_NAMES, WINDOW_SCHEDULES

EXAMPLES = """examples:
  a2sb restore song.mp3                         bandwidth extension, cutoff detected
  a2sb restore tape.flac --cutoff 8k --seed 1   replace everything above 8 kHz
  a2sb restore take.wav --gap 1:02.5-1:03       re-create a dropout
  a2sb restore song.wav -o restored.flac        name the result
  a2sb restore album/ -o restored/ --spectrogram   a folder, with pictures

the sampling defaults of the bundled model, and what this machine runs: a2sb env"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register `restore` and its arguments, in the groups `--help` shows."""
    parser = subparsers.add_parser(
        "restore",
        help="restore audio files: re-create lost high frequencies, or fill gaps",
        description=(
            "Restore music files with A2SB: bandwidth extension re-creates the band above a "
            "cutoff (detected, or given); inpainting re-creates the audio inside gaps. Inputs "
            "are never overwritten: each result is written as <stem>.a2sb.<ext>. The default "
            "model is a2sb-small, bundled with a2sb (offline); --model "
            "nvidia/audio_to_audio_schrodinger_bridge gives the published quality "
            "(non-commercial licence, downloaded once)."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="audio files, folders (searched recursively for wav, flac, ogg, mp3) or quoted "
        "glob patterns ('album/**/*.flac')",
    )
    parser.add_argument(
        "-o",
        "--output-dir",
        type=Path,
        metavar="OUT",
        help="folder for the results, mirroring the subfolders of folder and glob inputs "
        "(default: next to each input); with one input file, a .wav or .flac name is the "
        "result file itself",
    )
    _add_task_options(parser)
    _add_model_options(parser)
    _add_sampling_options(parser)
    _add_output_options(parser)
    parser.set_defaults(run=run)


def _add_task_options(parser: argparse.ArgumentParser) -> None:
    """What to restore: the task, the cutoff, the gaps."""
    task = parser.add_argument_group("what to restore")
    task.add_argument(
        "--task",
        choices=list(TASK_NAMES),
        metavar="{bwe,inpaint}",
        help="bwe (bandwidth-extension) or inpaint (inpainting); default: inpainting when "
        "--gap is given, else bandwidth extension",
    )
    task.add_argument(
        "--cutoff",
        metavar="auto|HZ",
        help="bandwidth extension: the highest frequency to keep, in Hz (8000 or 8k); "
        "inpainting: the recording's bandwidth, above which gaps are not restored; "
        "default auto: detected per file",
    )
    task.add_argument(
        "--gap",
        action="append",
        metavar="START-END",
        help="inpainting: a stretch to re-create, in seconds (62.5-63) or minutes:seconds "
        "(1:02.5-1:03); repeat for several gaps",
    )


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    """The model, where and how it runs, and the seed."""
    model = parser.add_argument_group("model and sampling")
    model.add_argument(
        "--model",
        metavar="ID_OR_PATH",
        help="a2sb-small (the small model bundled with a2sb, the default, offline), or a Hub "
        "repository or local folder of an A2SB pipeline or of the release's ckpt files, e.g. "
        "nvidia/audio_to_audio_schrodinger_bridge (NVIDIA's released A2SB: the published "
        "quality, non-commercial licence)",
    )
    model.add_argument(
        "--release-variant",
        choices=["twosplit", "onesplit"],
        default="twosplit",
        help="for the released model: two partitions (the paper's best, default) or one",
    )
    model.add_argument(
        "--trust-checkpoint",
        action="store_true",
        help="for the released model: unpickle its files fully if weights-only loading "
        "refuses them; this can run code from the files, so use it only for files you trust",
    )
    model.add_argument(
        "--seed",
        type=int,
        metavar="S",
        help="seed of the noise, for repeatable results (default: a random seed per file)",
    )
    model.add_argument(
        "--device",
        choices=DEVICES,
        default="auto",
        help="default auto: this process's GPU, else MPS, else the CPU",
    )
    model.add_argument(
        "--dtype",
        choices=DTYPES,
        default="auto",
        help="precision of the model (default auto: bf16 on a CPU with AVX-512 BF16, about "
        "1.2x faster there, else fp32; bf16 halves memory on recent GPUs; fp16 is very slow on "
        "the CPU)",
    )
    model.add_argument(
        "--window-batch-size",
        type=int,
        default=4,
        metavar="K",
        help="windows of 3 s per model call; lower it if the GPU runs out of memory (default 4)",
    )
    model.add_argument(
        "--window-frames",
        type=int,
        metavar="W",
        help="advanced: STFT frames per model window (default 256, as the model was trained)",
    )
    model.add_argument(
        "--hop-frames",
        type=int,
        metavar="H",
        help="advanced: frames between window starts, or the shift of shifted windows' seams "
        "per step (default 128)",
    )


def _add_sampling_options(parser: argparse.ArgumentParser) -> None:
    """The sampler and its settings (each defaults to the model's own)."""
    sampling = parser.add_argument_group(
        "sampling (each defaults to the model's own setting; `a2sb env` shows it)"
    )
    sampling.add_argument(
        "--sampler",
        choices=list(SAMPLER_NAMES),
        help="i2sb: the released stochastic sampler, needs about 49 steps; dbim: the implicit "
        "sampler, as good in 5-16 steps on the same model (a few times faster)",
    )
    sampling.add_argument(
        "--eta",
        type=float,
        metavar="E",
        help="dbim only: share of fresh noise per step, 0 (deterministic, the fastest to "
        "converge) to 1 (the i2sb step); default 0",
    )
    sampling.add_argument(
        "--steps",
        type=int,
        metavar="N",
        help="network calls per window; time grows linearly with it (the release: 49, the "
        "paper's 50)",
    )
    sampling.add_argument(
        "--windows",
        choices=list(WINDOW_SCHEDULES),
        help="overlap: windows every 128 frames, averaged, as released (each frame evaluated "
        "twice per step); shifted: side by side, seams moving every step (half the cost)",
    )


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    """The result files: format, bit depth, clipping, rate, pictures."""
    output = parser.add_argument_group("output")
    output.add_argument(
        "--output-format",
        choices=OUTPUT_FORMATS,
        help="default: the extension of an -o file, else wav",
    )
    output.add_argument(
        "--bit-depth",
        choices=["16", "24", "32f"],
        default="24",
        help="16 or 24-bit integer, or 32-bit float (wav only); default 24",
    )
    output.add_argument(
        "--clip-mode",
        choices=list(CLIP_MODES),
        default="rescale",
        help="16/24-bit results peaking above full scale: rescale the whole file by 1/peak "
        "(default; nothing clips), clamp the peaks, or fail the file (error); 32f keeps them",
    )
    output.add_argument(
        "--output-rate",
        choices=["input", "44100"],
        default="44100",
        help="sampling rate of the results: 44100 (the model's, default) or each input's own",
    )
    output.add_argument(
        "--overwrite", action="store_true", help="restore again files whose result exists"
    )
    output.add_argument(
        "--spectrogram",
        action="store_true",
        help="also write <stem>.a2sb.png beside each result: the spectrograms before and "
        "after, the cutoff or the gaps marked",
    )
    output.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bars or information lines"
    )


def run(args: argparse.Namespace) -> int:
    """Restore the files; returns 0 when every file was restored or skipped, 1 when any failed,
    130 or 143 when interrupted by Ctrl-C or SIGTERM."""
    # Imported here so that `a2sb --help` does not pay for torch, diffusers and accelerate.
    from a2sb.cli.restore_batch import restore_batch

    return restore_batch(args)
