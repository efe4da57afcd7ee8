"""Speed and memory of A2SB training steps: segments per second and peak RSS.

Writes a few minutes of synthetic music to a temporary folder, builds a `Trainer` for a
network size (`micro`: the smallest real RoPEUNet2DModel of the tests, `paper`: the 565M
network), and times optimizer steps at the paper's geometry (130,560-sample segments, 1024
rows × 256 frames), each size in a fresh process so that peak RSS belongs to it alone. Also
times the data stream alone (read, resample, mix down). Prints a markdown table and appends
it to a file with --output.

    python benchmarks/training.py --networks micro --batch-size 4 --steps 5 --threads 1 \
        --output benchmarks/RESULTS.md
    python benchmarks/training.py --networks paper --batch-size 8 --device cuda  # on a GPU
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import soundfile
import torch

TESTS = Path(__file__).resolve().parent.parent / "tests"

NETWORKS = {
    "micro": (
        "{block_out_channels: [8, 8, 8, 8, 8, 64], attention_levels: [], num_attention_heads: 1,"
        " norm_num_groups: 8, time_embedding_dim: 16, frequency_embedding_dim: 4}"
    ),
    "paper": "{}",
}


def write_music(folder: Path, minutes: float) -> None:
    """Stereo 44.1 kHz files of 30 s, and one mono 48 kHz file (resampled while streaming)."""
    sys.path.insert(0, str(TESTS))
    from synth import synth_music

    for index in range(max(1, round(minutes * 2))):
        rate, channels = (48000, 1) if index == 0 else (44100, 2)
        audio = synth_music(30 * rate, rate, channels, seed=index)
        soundfile.write(folder / f"track{index}.flac", audio.T, rate)


def measure(network: str, batch_size: int, steps: int, warmup: int, device: str) -> dict:
    """Run in a child process: seconds per step, data seconds per segment, peak RSS."""
    overrides = [f"model.unet={NETWORKS[network]}", f"batch_size={batch_size}"]
    return time_training_steps(None, overrides, steps, warmup, device, music_minutes=2)


def time_training_steps(
    config_file: Path | None,
    overrides: list[str],
    steps: int,
    warmup: int,
    device: str,
    music_minutes: float,
) -> dict:
    """Build a `Trainer` from `config_file` and `overrides` on synthetic music, time steps.

    The music (`music_minutes` of it, `write_music`) goes to a temporary folder that replaces
    the configuration's data; tracking, progress bar and worker processes are switched off.

    Returns:
        `seconds` per timed step, the configuration's `batch_size`, `segment_samples` and
        `mixed_precision`, `data_seconds_per_segment`, `parameters`, `peak_rss_gib`
        (of this process so far), and on CUDA `peak_gpu_gib` (`max_memory_allocated`).
    """
    from a2sb.training import Trainer, load_training_config
    from a2sb.training.data import SegmentStream

    with tempfile.TemporaryDirectory() as folder:
        music = Path(folder) / "music"
        music.mkdir()
        write_music(music, minutes=music_minutes)
        overrides = [
            f"output_dir={Path(folder) / 'run'}",
            f"data.folders=[{music}]",
            "data.manifest=null",
            "data.num_workers=0",
            "tracking.report_to=none",
            "progress_bar=false",
            *overrides,
        ]
        trainer = Trainer(load_training_config(config_file, overrides))
        batch_size = trainer.config.batch_size
        stream = SegmentStream(trainer.scan.files, trainer.config.data, seed=1)
        start = time.perf_counter()
        for index in range(4 * batch_size):
            stream.example(index)
        data_seconds = (time.perf_counter() - start) / (4 * batch_size)
        for _ in range(warmup):
            trainer.training_step()
        seconds = []
        for _ in range(steps):
            if device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            trainer.training_step()
            if device == "cuda":
                torch.cuda.synchronize()
            seconds.append(time.perf_counter() - start)
    result = {
        "seconds": seconds,
        "batch_size": batch_size,
        "segment_samples": trainer.config.data.segment_samples,
        "mixed_precision": trainer.config.mixed_precision,
        "data_seconds_per_segment": data_seconds,
        "parameters": trainer.num_parameters,
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
    }
    if device == "cuda":
        result["peak_gpu_gib"] = torch.cuda.max_memory_allocated() / 2**30
    return result


def run_child(network: str, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--child", network, "--batch-size", str(args.batch_size)]
    command += ["--steps", str(args.steps), "--warmup", str(args.warmup)]
    command += ["--threads", str(args.threads), "--device", args.device]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", nargs="+", choices=list(NETWORKS), default=["micro"])
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads of torch")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--output", type=Path, help="markdown file to append the table to")
    parser.add_argument("--child", choices=list(NETWORKS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:
        result = measure(args.child, args.batch_size, args.steps, args.warmup, args.device)
        print(json.dumps(result))
        return

    segment_seconds = 130_560 / 44100
    where = torch.cuda.get_device_name() if args.device == "cuda" else platform.processor()
    lines = [
        f"Training steps at the paper geometry (130,560-sample segments → [batch, 3, 1024, 256]),"
        f" fp32, batch {args.batch_size}, {args.device} ({where or platform.machine()}, "
        f"{args.threads} torch thread(s)), median of {args.steps} steps after {args.warmup} "
        "warm-up step(s); each network in a fresh process.",
        "",
        "| network | parameters | s / step | segments / s | audio s / s | data ms / segment "
        "| peak RSS GiB |",
        "|---|---|---|---|---|---|---|",
    ]
    for network in args.networks:
        result = run_child(network, args)
        step = statistics.median(result["seconds"])
        segments_per_second = args.batch_size / step
        lines.append(
            f"| {network} | {result['parameters']:,} | {step:.2f} | {segments_per_second:.2f} | "
            f"{segments_per_second * segment_seconds:.1f} | "
            f"{1000 * result['data_seconds_per_segment']:.1f} | {result['peak_rss_gib']:.2f} |"
        )
    command = " ".join(["python", "benchmarks/training.py", *sys.argv[1:]])
    lines += ["", f"Command: `{command}`", ""]
    report = "\n".join(lines)
    print(report)
    if args.output:
        if not args.output.exists():
            args.output.write_text("# Benchmark results\n\n")
        with args.output.open("a") as handle:
            handle.write("## Training\n\n" + report + "\n")


if __name__ == "__main__":
    main()
