"""Restoration speed and peak memory of A2SBPipeline against the audio's length.

Each measurement runs in a fresh process (so that peak RSS is its own) and restores synthetic
music with bandwidth extension at 4 kHz, either in memory (`--path memory`: `pipe(audio, ...)`,
the whole state in RAM) or from a file to a file (`--path streamed`: `pipe.restore_file`, which
streams, docs/concepts.md, "Streaming: any length in bounded memory"; the input wav is written
beforehand, minute by minute, by the parent):

- `--model null`: a stand-in network that returns zeros — everything but the network (STFT,
  windows, averaging, scheduler steps): the pipeline's own cost and its memory growth.
- `--model micro`: the smallest real RoPEUNet2DModel (tests/fakes.py), random weights.
- `--model paper`: the paper configuration (565 M parameters), random weights, for a GPU.
- `--model bundled`: a2sb-small, the trained model that ships with the package.

    python benchmarks/pipeline.py --model null --minutes 1 10 60 --channels 1 --steps 2
    python benchmarks/pipeline.py --model null --minutes 1 10 60 --path streamed
    python benchmarks/pipeline.py --model bundled --minutes 1 10 --path streamed \
        --keep-freed-memory                                   # the bundled default, streamed
    python benchmarks/pipeline.py --model micro --minutes 1 --steps 2
    python benchmarks/pipeline.py --model paper --minutes 1 10 60 --dtype bf16 --steps 4  # GPU
    python benchmarks/pipeline.py --model bundled --minutes 1 --steps 8 --keep-freed-memory

`--keep-freed-memory` tunes glibc's malloc as the `a2sb` command does (`a2sb.allocator`).
`--sampler`, `--windows` and `--steps` default to the model's own settings (the bundled model's
`sampling_defaults`); `--repeats N` restores each length N times and reports the median.

    python benchmarks/pipeline.py --model bundled --minutes 0.1667 1 --channels 1 --repeats 3 \
        --keep-freed-memory                                   # the bundled default
    python benchmarks/pipeline.py --model bundled --minutes 0.1667 --channels 1 --sampler i2sb \
        --steps 49 --windows overlap --keep-freed-memory      # the release sampler

Prints a markdown table; `--output FILE` appends it to FILE.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from a2sb.cli.devices import TORCH_DTYPES, resolve_dtype

REPO = Path(__file__).resolve().parents[1]


def build_pipeline(model: str, dtype: torch.dtype, device: str):
    from diffusers import ConfigMixin, ModelMixin
    from diffusers.configuration_utils import register_to_config

    from a2sb.models import RoPEUNet2DModel, RoPEUNet2DOutput
    from a2sb.pipelines import A2SBPipeline
    from a2sb.schedulers import I2SBScheduler

    class NullUNet(ModelMixin, ConfigMixin):
        size_multiple = 1

        @register_to_config
        def __init__(self, in_channels: int = 3):
            super().__init__()
            self.anchor = torch.nn.Parameter(torch.zeros(1))

        def forward(self, sample, timestep, return_dict=True):
            return RoPEUNet2DOutput(sample=torch.zeros_like(sample))

    if model == "bundled":
        pipe = A2SBPipeline.from_pretrained()
    else:
        if model == "null":
            unet = NullUNet()
        elif model == "micro":
            sys.path.insert(0, str(REPO / "tests"))
            from fakes import MICRO_UNET

            unet = RoPEUNet2DModel(**MICRO_UNET)
        else:
            unet = RoPEUNet2DModel()
        pipe = A2SBPipeline(unet.eval(), I2SBScheduler())
    pipe = pipe.to(device=device, dtype=dtype)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def measure(args: argparse.Namespace, minutes: float) -> dict:
    """In a child process: restore `minutes` of audio once; seconds and peak memories."""
    sys.path.insert(0, str(REPO / "tests"))
    from synth import synth_music

    if args.keep_freed_memory:
        from a2sb.allocator import keep_freed_memory

        keep_freed_memory()
    dtype = TORCH_DTYPES[resolve_dtype(args.dtype, torch.device(args.device))]
    pipe = build_pipeline(args.model, dtype, args.device)
    if args.sampler is not None:
        from a2sb.schedulers.samplers import with_sampler

        pipe.scheduler = with_sampler(pipe.scheduler, args.sampler)
    if args.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    arguments = {
        "cutoff_hz": 4000,
        "num_inference_steps": args.steps,
        "window_schedule": args.windows,
        "window_batch_size": args.window_batch_size,
    }
    if args.path == "streamed":
        source = input_file(args, minutes)
        start = time.perf_counter()
        pipe.restore_file(source, source.with_name("restored.wav"), **arguments)
    else:
        audio = synth_music(int(minutes * 60 * 44100), channels=args.channels)
        start = time.perf_counter()
        pipe(audio, 44100, **arguments)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "peak_gpu_gib": torch.cuda.max_memory_allocated() / 2**30
        if args.device == "cuda"
        else None,
    }


def input_file(args: argparse.Namespace, minutes: float) -> Path:
    """The synthetic input of the streamed path, in `--work-dir`."""
    return Path(args.work_dir) / f"input-{minutes:g}min-{args.channels}ch.wav"


def write_input_file(args: argparse.Namespace, minutes: float) -> None:
    """Write `minutes` of synthetic music, one minute of it in memory at a time."""
    import soundfile

    sys.path.insert(0, str(REPO / "tests"))
    from synth import synth_music

    path = input_file(args, minutes)
    path.parent.mkdir(parents=True, exist_ok=True)
    total = int(minutes * 60 * 44100)
    with soundfile.SoundFile(path, "w", 44100, args.channels, "PCM_16") as file:
        for index, start in enumerate(range(0, total, 60 * 44100)):
            length = min(60 * 44100, total - start)
            file.write(synth_music(length, channels=args.channels, seed=index).T)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=["null", "micro", "paper", "bundled"], default="null")
    parser.add_argument("--minutes", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--channels", type=int, default=2)
    parser.add_argument("--steps", type=int, help="default: the model's own")
    parser.add_argument("--sampler", choices=["i2sb", "dbim"], help="default: the model's own")
    parser.add_argument("--windows", choices=["overlap", "shifted"], help="default: the model's")
    parser.add_argument("--repeats", type=int, default=1, help="runs per length; the median")
    parser.add_argument("--window-batch-size", type=int, default=4)
    parser.add_argument(
        "--dtype", choices=["auto", "fp32", "bf16"], default="auto", help="as a2sb restore's"
    )
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--path", choices=["memory", "streamed"], default="memory")
    parser.add_argument("--work-dir", default="runs/pipeline", help="streamed path's files")
    parser.add_argument("--keep-freed-memory", action="store_true", help="as the a2sb command")
    parser.add_argument("--output", help="markdown file to append the results to")
    parser.add_argument("--child-minutes", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_minutes is not None:
        print(json.dumps(measure(args, args.child_minutes)))
        return

    rows = []
    for minutes in args.minutes:
        if args.path == "streamed":
            write_input_file(args, minutes)
        command = [sys.executable, __file__, *sys.argv[1:], "--child-minutes", str(minutes)]
        runs = []
        for _ in range(args.repeats):
            output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            runs.append(json.loads(output.strip().splitlines()[-1]))
        result = {**runs[0], "seconds": statistics.median(run["seconds"] for run in runs)}
        speed = minutes * 60 / result["seconds"]
        gpu = "—" if result["peak_gpu_gib"] is None else f"{result['peak_gpu_gib']:.2f}"
        rows.append(
            f"| {minutes:g} | {result['seconds']:.1f} | {speed:.2f} | "
            f"{result['peak_rss_gib']:.2f} | {gpu} |"
        )
    device = torch.cuda.get_device_name() if args.device == "cuda" else platform.machine()
    dtype = resolve_dtype(args.dtype, torch.device(args.device))
    lines = [
        f"### Pipeline ({args.path}) — model `{args.model}`, {args.channels} channel(s), sampler "
        f"{args.sampler or 'default'}, {args.steps or 'default'} steps, windows "
        f"{args.windows or 'default'}, {dtype}, window batch {args.window_batch_size}, "
        f"median of {args.repeats}, {args.device} ({device}), "
        f"{torch.get_num_threads()} thread(s)"
        + (", malloc keeps freed memory" if args.keep_freed_memory else ""),
        "",
        f"`python benchmarks/pipeline.py {' '.join(sys.argv[1:])}`",
        "",
        "| minutes of audio | seconds | audio s per s | peak RSS GiB | peak GPU GiB |",
        "| --- | --- | --- | --- | --- |",
        *rows,
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if args.output:
        with open(args.output, "a") as file:
            file.write(report + "\n")


if __name__ == "__main__":
    main()
