"""Speed and memory of the factorized STFT round trip against bare torch.stft / torch.istft.

Encodes and decodes ten minutes of stereo 44.1 kHz audio on one CPU thread, in a fresh
process per measurement so that peak RSS belongs to that measurement alone, and prints a
markdown table (and appends it to a file with --output).

    python benchmarks/representation.py --minutes 10 --repeats 5 --output benchmarks/RESULTS.md
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

import torch

SAMPLING_RATE = 44100


def bare_round_trip(waveform: torch.Tensor) -> torch.Tensor:
    window = torch.hann_window(2048)
    spectrum = torch.stft(
        waveform, 2048, 512, window=window, center=True, pad_mode="reflect", return_complex=True
    )
    return torch.istft(spectrum, 2048, 512, window=window, center=True, length=waveform.shape[-1])


def factorized_round_trip(waveform: torch.Tensor) -> torch.Tensor:
    from a2sb.representations import FactorizedSTFT

    representation = FactorizedSTFT()
    return representation.decode(representation.encode(waveform), waveform.shape[-1])


def measure(mode: str, minutes: float, repeats: int) -> dict:
    """Run in a child process: seconds per round trip (each repeat) and peak RSS."""
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(0)
    waveform = torch.randn(2, int(minutes * 60 * SAMPLING_RATE), generator=generator) * 0.1
    round_trip = {"bare": bare_round_trip, "factorized": factorized_round_trip}[mode]
    round_trip(waveform[:, :SAMPLING_RATE])  # warm-up
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        round_trip(waveform)
        seconds.append(time.perf_counter() - start)
    peak_rss_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return {"seconds": seconds, "peak_rss_gib": peak_rss_gib}


def run_child(mode: str, minutes: float, repeats: int) -> dict:
    command = [sys.executable, __file__, "--child", mode, "--minutes", str(minutes)]
    command += ["--repeats", str(repeats)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(output)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--output", help="markdown file to append the results to")
    parser.add_argument("--child", choices=["bare", "factorized"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.minutes, args.repeats)))
        return

    audio_seconds = args.minutes * 60
    results = {mode: run_child(mode, args.minutes, args.repeats) for mode in ("bare", "factorized")}
    medians = {mode: statistics.median(result["seconds"]) for mode, result in results.items()}
    lines = [
        f"### Representation round trip — {args.minutes:g} min stereo, 1 CPU thread",
        "",
        f"`python benchmarks/representation.py --minutes {args.minutes:g} "
        f"--repeats {args.repeats}` on {platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}; median of {args.repeats} runs.",
        "",
        "| round trip | median s | × real time | peak RSS GiB |",
        "| --- | --- | --- | --- |",
    ]
    for mode, label in (("bare", "bare torch.stft + istft"), ("factorized", "FactorizedSTFT")):
        lines.append(
            f"| {label} | {medians[mode]:.2f} | {audio_seconds / medians[mode]:.0f}× | "
            f"{results[mode]['peak_rss_gib']:.2f} |"
        )
    lines += [
        "",
        f"Ratio FactorizedSTFT / bare: {medians['factorized'] / medians['bare']:.2f}×",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if args.output:
        with open(args.output, "a") as file:
            file.write(report + "\n")


if __name__ == "__main__":
    main()
