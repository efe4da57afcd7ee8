"""The bundled model's UNet on the CPU in each number format (run by hand).

fp32 (the default), fp32 channels-last, bf16 under `torch.autocast` with channels-last weights,
and bf16 and fp16 weights as `--dtype bf16|fp16` loads them. bf16 runs on oneDNN's kernels
(the model recomputes a non-finite result with torch's exact native kernels, about 190× slower,
as fp16 is here). One window batch `[batch, 3, 1024, 256]` (`a2sb restore` sends 4 per call),
random input, t = 0.5. The variants run interleaved, `--runs` rounds, so that load from other
processes falls on all of them alike; the median time of each and its error against fp32
(max |Δ| / max |fp32 output|) are printed and written into benchmarks/RESULTS.md under
"## CPU formats (a2sb-small UNet)".

    python benchmarks/cpu_formats.py --runs 3 --batch 1
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import shlex
import statistics
import sys
import time
from pathlib import Path

import torch
from results_section import write_section

from a2sb.allocator import keep_freed_memory
from a2sb.pipelines import A2SBPipeline

REPOSITORY = Path(__file__).resolve().parents[1]
HEADING = "## CPU formats (a2sb-small UNet)"


def variants(unet: torch.nn.Module) -> dict[str, tuple]:
    """name → (model, input dtype, channels-last input, autocast dtype or None)."""
    channels_last = A2SBPipeline.from_pretrained().unet.eval().to(memory_format=torch.channels_last)
    bf16 = A2SBPipeline.from_pretrained(torch_dtype=torch.bfloat16).unet.eval()
    fp16 = A2SBPipeline.from_pretrained(torch_dtype=torch.float16).unet.eval()
    return {
        "fp32": (unet, torch.float32, False, None),
        "fp32 channels-last": (channels_last, torch.float32, True, None),
        "bf16 autocast, channels-last (oneDNN)": (
            channels_last,
            torch.float32,
            True,
            torch.bfloat16,
        ),
        "bf16 weights (--dtype bf16)": (bf16, torch.bfloat16, False, None),
        "fp16 weights (--dtype fp16)": (fp16, torch.float16, False, None),
    }


def run(model: torch.nn.Module, x: torch.Tensor, t: torch.Tensor, autocast: torch.dtype | None):
    """One forward, under `torch.autocast` when `autocast` names a dtype."""
    mixed = torch.autocast("cpu", dtype=autocast) if autocast else contextlib.nullcontext()
    with mixed:
        return model(x, t).sample.float()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=4, help="windows per call")
    parser.add_argument(
        "--results-file", type=Path, default=REPOSITORY / "benchmarks" / "RESULTS.md"
    )
    args = parser.parse_args()
    keep_freed_memory()
    torch.set_num_threads(args.threads)
    unet = A2SBPipeline.from_pretrained().unet.eval()
    sample = torch.randn(args.batch, 3, 1024, 256, generator=torch.Generator().manual_seed(0))
    t = torch.full((args.batch,), 0.5)
    models = variants(unet)
    times = {name: [] for name in models}
    outputs = {}
    with torch.inference_mode():
        for round_index in range(args.runs + 1):  # round 0 warms up
            for name, (model, dtype, channels_last, autocast) in models.items():
                x = sample.to(dtype)
                if channels_last:
                    x = x.contiguous(memory_format=torch.channels_last)
                started = time.perf_counter()
                outputs[name] = run(model, x, t, autocast)
                if round_index:
                    times[name].append(time.perf_counter() - started)
    reference = outputs["fp32"]
    scale = reference.abs().max().item()
    rows = [
        "| format | median s per call | × fp32 speed | max error / max output |",
        "|---|---|---|---|",
    ]
    fp32_time = statistics.median(times["fp32"])
    for name, measured in times.items():
        median = statistics.median(measured)
        error = (outputs[name] - reference).abs().max().item() / scale
        finite = "" if outputs[name].isfinite().all() else " (non-finite values)"
        rows.append(f"| {name} | {median:.3f} | {fp32_time / median:.2f} | {error:.1e}{finite} |")
    table = "\n".join(rows)
    print(table)
    command = shlex.join(["python", "benchmarks/cpu_formats.py", *sys.argv[1:]])
    section = (
        f"{HEADING}\n\n`{command}` — one call on `[{args.batch}, 3, 1024, 256]` windows, median of "
        f"{args.runs} interleaved rounds, {args.threads} threads, torch {torch.__version__}, "
        f"{platform.processor() or platform.machine()}.\n\n{table}\n"
    )
    write_section(args.results_file, section)


if __name__ == "__main__":
    main()
