"""Benchmark `RoPEUNet2DModel` forward passes on the CPU (run by hand, not a test).

    python benchmarks/model.py --runs 3 --write benchmarks/RESULTS.md

Each configuration is measured in a fresh subprocess, so that its peak RSS
(`resource.getrusage`) is its own: build with random weights, one warm-up forward in
`torch.inference_mode()`, then the median of `--runs` timed forwards. The machine may be
shared: the share of all CPUs that other processes used during the timed runs is recorded,
and a measurement is repeated (up to `--attempts`) while it exceeds `--max-other-load`.
"""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from results_section import write_section

SECTION = "## Model (RoPEUNet2DModel)"
CONFIGS = {
    "paper": {},
    "fixture-size": {
        "block_out_channels": [32, 32, 64, 128, 128, 192],
        "num_attention_heads": 2,
    },
    "tiny": {"block_out_channels": [32, 32, 64, 64, 64, 64], "num_attention_heads": 1},
}
DEFAULT_SHAPES = {
    "paper": [1, 3, 1024, 256],
    "fixture-size": [1, 3, 1024, 256],
    "tiny": [1, 3, 64, 64],
}


def machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs since boot, from /proc/stat."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split()[1:9]]
    idle = ticks[3] + ticks[4]
    return sum(ticks) - idle, sum(ticks)


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(config_name: str, shape: list[int], runs: int) -> dict:
    """Build the model, run it, and return the timings and peak RSS of this process."""
    import torch

    from a2sb.models import RoPEUNet2DModel

    torch.manual_seed(0)
    model = RoPEUNet2DModel(**CONFIGS[config_name]).eval()
    parameters = sum(parameter.numel() for parameter in model.parameters())
    sample = torch.randn(shape)
    timestep = torch.full((shape[0],), 0.5)
    durations = []
    other_loads = []
    ticks_per_second = os.sysconf("SC_CLK_TCK")
    with torch.inference_mode():
        model(sample, timestep)
        first_forward_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        for _ in range(runs):
            busy_before, total_before = machine_ticks()
            cpu_before = own_cpu_seconds()
            start = time.perf_counter()
            model(sample, timestep)
            durations.append(time.perf_counter() - start)
            busy_after, total_after = machine_ticks()
            own_ticks = (own_cpu_seconds() - cpu_before) * ticks_per_second
            other_busy = max(0.0, busy_after - busy_before - own_ticks)
            other_loads.append(other_busy / max(1, total_after - total_before))
    return {
        "config": config_name,
        "shape": shape,
        "parameters": parameters,
        "median_s": statistics.median(durations),
        "runs_s": durations,
        "max_other_load": max(other_loads),
        "first_forward_rss_gib": first_forward_rss,
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }


def measure_in_subprocess(
    config_name: str, shape: list[int], runs: int, max_other_load: float, attempts: int
) -> dict:
    """Measure in fresh processes until other processes stay under `max_other_load`; return
    the attempt with the least interference."""
    command = [sys.executable, __file__, "--worker", config_name, "--runs", str(runs)]
    command += ["--shape", *map(str, shape)]
    results = []
    for _ in range(attempts):
        completed = subprocess.run(command, capture_output=True, text=True, check=True)
        results.append(json.loads(completed.stdout.strip().splitlines()[-1]))
        if results[-1]["max_other_load"] <= max_other_load:
            break
    return min(results, key=lambda result: result["max_other_load"])


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def markdown(results: list[dict], command: str) -> str:
    first = results[0]
    lines = [
        SECTION,
        "",
        f"Machine: {cpu_name()}, {os.cpu_count()} cores, no GPU in this task; "
        f"torch {first['torch']} ({first['threads']} threads), fp32, `torch.inference_mode()`.",
        f"Command: `{command}`",
        "",
        "Forward of one batch; median of timed runs after one warm-up forward. Peak RSS "
        "(`ru_maxrss`) of a fresh process that builds the model with random weights: after the "
        "warm-up forward, and after all runs. Other load: the largest share of the machine's "
        "CPUs that other processes used during a timed run.",
        "",
        "| config | parameters | input | median forward (s) | runs (s) | other load "
        "| peak RSS, first forward (GiB) | peak RSS, all runs (GiB) |",
        "|---|---:|---|---:|---|---:|---:|---:|",
    ]
    for result in results:
        runs = ", ".join(f"{duration:.2f}" for duration in result["runs_s"])
        lines.append(
            f"| {result['config']} | {result['parameters']:,} | {result['shape']} | "
            f"{result['median_s']:.2f} | {runs} | {result['max_other_load']:.0%} | "
            f"{result['first_forward_rss_gib']:.2f} | "
            f"{result['peak_rss_gib']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--configs", nargs="+", choices=list(CONFIGS), default=["paper", "fixture-size", "tiny"]
    )
    parser.add_argument(
        "--shape", type=int, nargs=4, help="input shape for every config (default: per config)"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-other-load", type=float, default=0.1)
    parser.add_argument("--attempts", type=int, default=3)
    parser.add_argument("--write", type=Path, help="markdown file to write the section into")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        print(json.dumps(measure(args.worker, args.shape, args.runs)))
        return
    results = [
        measure_in_subprocess(
            name, args.shape or DEFAULT_SHAPES[name], args.runs, args.max_other_load, args.attempts
        )
        for name in args.configs
    ]
    section = markdown(results, "python " + " ".join(sys.argv))
    print(section)
    if args.write:
        write_section(args.write, section)


if __name__ == "__main__":
    main()
