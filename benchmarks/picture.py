"""Time and peak memory of the before/after picture (`a2sb restore --spectrogram`).

Each length is drawn in a fresh process (so that peak RSS is its own) from two synthetic
stereo wav files written beforehand, a minute at a time: an input at 22.05 kHz (resampled on
the way, as a band-limited input is) and a result at 44.1 kHz.

    python benchmarks/picture.py --minutes 1 10 60

Prints a markdown table; `--output FILE` appends it to FILE.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import soundfile

REPO = Path(__file__).resolve().parents[1]
RATES = {"input": 22050, "result": 44100}


def draw(work_dir: Path, minutes: float) -> dict:
    """In a child process: draw the picture of one length once; seconds and peak memory."""
    from a2sb.spectrogram_pictures import save_restoration_picture

    input_path, result_path = (audio_file(work_dir, minutes, role) for role in RATES)
    start = time.perf_counter()
    save_restoration_picture(work_dir / "picture.png", input_path, result_path, cutoff_hz=8000)
    return {
        "seconds": time.perf_counter() - start,
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
    }


def audio_file(work_dir: Path, minutes: float, role: str) -> Path:
    return work_dir / f"{role}-{minutes:g}min.wav"


def write_audio_files(work_dir: Path, minutes: float) -> None:
    """Write the input and the result, one minute of either in memory at a time."""
    sys.path.insert(0, str(REPO / "tests"))
    from synth import synth_music

    work_dir.mkdir(parents=True, exist_ok=True)
    for role, rate in RATES.items():
        total = int(minutes * 60 * rate)
        with soundfile.SoundFile(audio_file(work_dir, minutes, role), "w", rate, 2) as file:
            for index, start in enumerate(range(0, total, 60 * rate)):
                length = min(60 * rate, total - start)
                file.write(synth_music(length, sampling_rate=rate, channels=2, seed=index).T)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--work-dir", default="runs/picture", help="where the wav files go")
    parser.add_argument("--output", help="markdown file to append the results to")
    parser.add_argument("--child-minutes", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    work_dir = Path(args.work_dir)
    if args.child_minutes is not None:
        print(json.dumps(draw(work_dir, args.child_minutes)))
        return

    rows = []
    for minutes in args.minutes:
        write_audio_files(work_dir, minutes)
        command = [sys.executable, __file__, *sys.argv[1:], "--child-minutes", str(minutes)]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        result = json.loads(output.strip().splitlines()[-1])
        rows.append(f"| {minutes:g} | {result['seconds']:.1f} | {result['peak_rss_gib']:.2f} |")
    lines = [
        f"### Before/after picture — stereo, input at 22.05 kHz, result at 44.1 kHz, "
        f"{platform.machine()}",
        "",
        "| minutes | seconds | peak RSS (GiB) |",
        "|---|---|---|",
        *rows,
    ]
    print("\n".join(lines))
    if args.output:
        with open(args.output, "a") as file:
            file.write("\n".join(lines) + "\n\n")


if __name__ == "__main__":
    main()
