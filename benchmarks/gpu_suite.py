"""Every accelerator measurement of a2sb in one go: one command, one table, one results section.

    python benchmarks/gpu_suite.py                       # on a CUDA GPU, ~8 minutes
    python benchmarks/gpu_suite.py --smoke --results-file /tmp/gpu.md   # CPU, tiny configs

Run from the repository root after `pip install -e .`; it reads nothing from the network
(random weights, music synthesized by tests/synth.py, no Hub access). It measures:

1. model: the paper-size `RoPEUNet2DModel` (random weights), one forward of a window batch of
   1, 4 and 16 `[3, 1024, 256]` windows in fp32, bf16 and fp16, eager and `torch.compile`d
   (one `dynamic=False` module per dtype, reused across the batch sizes: each new batch size
   is a recompile, counted as new Dynamo graphs); median time, windows per second, peak GPU
   memory (`torch.cuda.max_memory_allocated`), the SDPA kernel the eager forward ran.
2. pipeline: `A2SBPipeline` with that network in bf16 on 1 and 10 minutes of stereo, with the
   release sampler and the fast default: audio seconds per second, peak GPU memory, peak host
   RSS; and the largest window batch that fits on a 16 and a 24 GiB card.
3. training: optimizer steps of the library's `Trainer` (its bridge objective) at the paper
   geometry (bf16, batch 8) and with the bundled model's recipe (recipes/a2sb_small).
4. projection: one hour of stereo at each sampler, linear in the longest measured length.

The run keeps to `--budget-s`: before each pipeline run and each dtype's compilation it
predicts the time (from the measured forwards; the first compilation from `--compile-guess-s`)
and skips what would overrun, saying so in its row. Writes the table, the device and the
versions under "## GPU" in benchmarks/RESULTS.md (`--results-file`); `--smoke` writes only
where `--results-file` points.
"""

from __future__ import annotations

import argparse
import copy
import functools
import gc
import math
import os
import platform
import re
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from pipeline import build_pipeline
from results_section import write_section
from training import NETWORKS, time_training_steps

from a2sb.models import RoPEUNet2DModel
from a2sb.schedulers import DBIMScheduler, I2SBScheduler

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY / "tests"))
from synth import synth_music  # noqa: E402  (tests/synth.py, the music of the tests)

HEADING = "## GPU"
RELEASE_SAMPLING = {"sampler": "i2sb", "num_inference_steps": 49, "window_schedule": "overlap"}
"""The released models' sampler: I2SB, 49 network calls, overlapping windows averaged."""
FAST_SAMPLING = {"sampler": "i2sb", "num_inference_steps": 10, "window_schedule": "shifted"}
"""The fast default: mirrors the bundled model's measured default sampling (I2SB, 10 steps,
shifted windows; benchmarks/RESULTS.md, "Sampling")."""
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
PIPELINE_DTYPE = "bf16"
CARDS_GIB = (16, 24)
CUTOFF_HZ = 4000
HOP = 512
TRAINING_RECIPE = REPOSITORY / "recipes" / "a2sb_small" / "train.yaml"


@dataclass(frozen=True)
class Scale:
    """The sizes of one run: the real suite or its CPU smoke test."""

    model_unet: dict
    window: tuple[int, int]  # (rows, frames) of one model-row window
    batches: tuple[int, ...]
    timed_runs: int
    compile_dtypes: tuple[str, ...]
    compile_backend: str
    pipeline_model: str  # benchmarks/pipeline.py's --model
    pipeline_dtype: str
    pipeline_window_batch: int
    pipeline_window: tuple[int, int]  # (window_frames, hop_frames) of the pipeline
    base_audio_s: float
    long_audio_repeats: int
    sampling_steps: int | None  # None: each sampling's own; smoke: fewer
    paper_network: str  # benchmarks/training.py's NETWORKS key
    training_batch: int
    recipe_batch: int | None  # None: the recipe's own
    training_steps: int
    training_warmup: int
    training_segment_samples: int | None  # None: each configuration's own
    music_minutes: float


REAL = Scale(
    model_unet={},
    window=(1024, 256),
    batches=(1, 4, 16),
    timed_runs=3,
    compile_dtypes=tuple(DTYPES),
    compile_backend="inductor",
    pipeline_model="paper",
    pipeline_dtype=PIPELINE_DTYPE,
    pipeline_window_batch=4,
    pipeline_window=(256, 128),
    base_audio_s=60.0,
    long_audio_repeats=10,
    sampling_steps=None,
    paper_network="paper",
    training_batch=8,
    recipe_batch=None,
    training_steps=5,
    training_warmup=2,
    training_segment_samples=None,
    music_minutes=2.0,
)
SMOKE = Scale(
    model_unet={
        "block_out_channels": [8, 64],
        "attention_levels": [],
        "num_attention_heads": 1,
        "norm_num_groups": 8,
        "time_embedding_dim": 16,
        "frequency_embedding_dim": 4,
        "layers_per_block": 1,
    },
    window=(32, 32),
    batches=(1, 2),
    timed_runs=1,
    compile_dtypes=("fp32",),
    compile_backend="eager",  # Dynamo's tracing and recompiles without Inductor's codegen
    pipeline_model="micro",
    pipeline_dtype="fp32",
    pipeline_window_batch=2,
    pipeline_window=(32, 16),
    base_audio_s=0.5,
    long_audio_repeats=2,
    sampling_steps=2,
    paper_network="micro",
    training_batch=2,
    recipe_batch=2,
    training_steps=1,
    training_warmup=1,
    training_segment_samples=16_256,  # 32 frames
    music_minutes=0.5,
)


@dataclass
class Row:
    """One line of the table."""

    kind: str  # model, pipeline, training, projection
    what: str
    time: str = "—"
    throughput: str = "—"
    gpu_gib: str = "—"
    rss_gib: str = "—"
    note: str = ""

    def markdown(self) -> str:
        cells = [self.kind, self.what, self.time, self.throughput, self.gpu_gib, self.rss_gib]
        return "| " + " | ".join([*cells, self.note]) + " |"


TABLE_HEADER = (
    "| kind | what | time | throughput | peak GPU GiB | peak host RSS GiB | note |\n"
    "|---|---|---:|---:|---:|---:|---|"
)


class Budget:
    """Wall-clock seconds left to the suite."""

    def __init__(self, seconds: float):
        self.deadline = time.perf_counter() + seconds

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    def allows(self, estimate_s: float) -> bool:
        return estimate_s <= self.left()


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_peaks(device: torch.device) -> None:
    """Start a measurement: zero the GPU's peak statistics and the process's peak RSS.

    The host peak (VmHWM) is reset through /proc/self/clear_refs (Linux), so each row's peak
    RSS is its own measurement's, on top of what the process already holds.
    """
    gc.collect()
    synchronize(device)
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    if host_peak_resets():
        Path("/proc/self/clear_refs").write_text("5")


@functools.cache
def host_peak_resets() -> bool:
    """Whether this process may reset its peak RSS (Linux's /proc/self/clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_gpu_bytes(device: torch.device) -> int | None:
    return torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None


def gib(bytes_: int | None) -> str:
    return "—" if bytes_ is None else f"{bytes_ / 2**30:.2f}"


def duration(audio_s: float) -> str:
    return f"{audio_s / 60:g} min" if audio_s >= 60 else f"{audio_s:g} s"


def peak_rss_gib() -> str:
    status = Path("/proc/self/status").read_text()
    kib = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))
    return f"{kib / 2**20:.2f}"


def sdpa_kernels(model: torch.nn.Module, sample: torch.Tensor, timestep: torch.Tensor) -> str:
    """The `scaled_dot_product_attention` implementations one forward dispatches to."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        model(sample, timestep)
    names = {
        event.key.removeprefix("aten::_scaled_dot_product_")
        for event in profiler.key_averages()
        if event.key.startswith("aten::_scaled_dot_product_")
    }
    return "+".join(sorted(names)) or "none"


def dynamo_graphs() -> int:
    from torch._dynamo.utils import counters

    return counters["stats"]["unique_graphs"]


@dataclass
class Forward:
    """Timings of one model at one batch size."""

    first_s: float  # the first call (with a compilation, when compiled)
    median_s: float
    gpu_bytes: int | None
    new_graphs: int


def time_forward(
    model: Callable, batch: int, scale: Scale, dtype: torch.dtype, device: torch.device
) -> Forward:
    """One untimed-for-speed first call, then the median of `scale.timed_runs` forwards of a
    `[batch, 3, rows, frames]` window batch at t = 0.5."""
    generator = torch.Generator().manual_seed(batch)
    sample = torch.randn(batch, 3, *scale.window, generator=generator).to(device, dtype)
    timestep = torch.full((batch,), 0.5, device=device)
    graphs = dynamo_graphs()
    reset_peaks(device)
    start = time.perf_counter()
    model(sample, timestep)
    synchronize(device)
    first = time.perf_counter() - start
    new_graphs = dynamo_graphs() - graphs
    durations = []
    for _ in range(scale.timed_runs):
        start = time.perf_counter()
        model(sample, timestep)
        synchronize(device)
        durations.append(time.perf_counter() - start)
    return Forward(first, statistics.median(durations), peak_gpu_bytes(device), new_graphs)


def master_unet(scale: Scale) -> RoPEUNet2DModel:
    torch.manual_seed(0)
    return RoPEUNet2DModel(**scale.model_unet).eval()


def model_copy(master: RoPEUNet2DModel, dtype: torch.dtype, device: torch.device):
    """The only model on the device while it is measured (peak memory is its own)."""
    return copy.deepcopy(master).to(device=device, dtype=dtype)


def forward_row(dtype_name: str, batch: int, forward: Forward, note: str, mode: str) -> Row:
    return Row(
        "model",
        f"{dtype_name} {mode}, window batch {batch}",
        f"{forward.median_s * 1000:.1f} ms",
        f"{batch / forward.median_s:.1f} windows/s",
        gib(forward.gpu_bytes),
        note=note,
    )


def measure_eager_models(
    master: RoPEUNet2DModel, scale: Scale, device: torch.device
) -> tuple[list[Row], dict[tuple[str, int], Forward]]:
    """Eager forwards in every dtype and batch size (in `torch.inference_mode`)."""
    rows, forwards = [], {}
    for name, dtype in DTYPES.items():
        model = model_copy(master, dtype, device)
        with torch.inference_mode():
            sample = torch.randn(1, 3, *scale.window).to(device, dtype)
            kernels = sdpa_kernels(model, sample, torch.full((1,), 0.5, device=device))
            for batch in scale.batches:
                forward = time_forward(model, batch, scale, dtype, device)
                forwards[name, batch] = forward
                rows.append(forward_row(name, batch, forward, f"SDPA: {kernels}", "eager"))
        del model
    return rows, forwards


def measure_compiled_models(
    master: RoPEUNet2DModel, scale: Scale, device: torch.device, budget: Budget, guess_s: float
) -> list[Row]:
    """`torch.compile(dynamic=False)` once per dtype, called at every batch size in turn (a
    new batch size recompiles). Each call is skipped when the last compilation's time (at
    first `guess_s`) would overrun the budget."""
    rows = []
    compile_s = guess_s
    for name in scale.compile_dtypes:
        torch._dynamo.reset()
        model = model_copy(master, DTYPES[name], device)
        compiled = torch.compile(model, backend=scale.compile_backend, dynamic=False)
        with torch.inference_mode():
            for batch in scale.batches:
                if not budget.allows(compile_s):
                    note = f"budget: ~{compile_s:.0f} s to compile, {budget.left():.0f} s left"
                    what = f"{name} compiled, window batch {batch}"
                    rows.append(Row("model", what, "skipped", note=note))
                    continue
                try:
                    forward = time_forward(compiled, batch, scale, DTYPES[name], device)
                except Exception as error:  # reported in the table; the other rows stand
                    what = f"{name} compiled, window batch {batch}"
                    message = f"{type(error).__name__}: {str(error).splitlines()[0][:160]}"
                    rows.append(Row("model", what, "failed", note=message))
                    break
                compile_s = forward.first_s
                note = (
                    f"{scale.compile_backend}: first call (compiles) {forward.first_s:.1f} s, "
                    f"+{forward.new_graphs} Dynamo graph(s)"
                )
                rows.append(forward_row(name, batch, forward, note, "compiled"))
        del model, compiled
    return rows


def sampling_scheduler(sampling: dict, release_config) -> I2SBScheduler | DBIMScheduler:
    if sampling["sampler"] == "dbim":
        return DBIMScheduler.from_config(release_config, eta=0.0)
    return I2SBScheduler.from_config(release_config)


def sampling_name(sampling: dict, steps: int) -> str:
    return f"{sampling['sampler']} {steps} steps {sampling['window_schedule']}"


def model_calls(samples: int, window_schedule: str, steps: int, scale: Scale) -> int:
    """About how many window batches the pipeline sends for `steps` steps on stereo audio
    (for the budget)."""
    window_frames, hop_frames = scale.pipeline_window
    frames = samples // HOP + 1
    spacing = hop_frames if window_schedule == "overlap" else window_frames
    channels, batch = 2, scale.pipeline_window_batch
    windows = channels * (math.ceil(frames / spacing) + 1)
    return steps * math.ceil(windows / batch)


@dataclass
class PipelineRun:
    sampling: dict
    steps: int
    audio_s: float
    seconds: float | None  # None: skipped


def measure_pipelines(
    pipe, scale: Scale, device: torch.device, budget: Budget, seconds_per_call: float
) -> tuple[list[Row], list[PipelineRun]]:
    """Each sampling on the short and the long stereo audio, short ones first."""
    base = synth_music(int(scale.base_audio_s * 44100), channels=2)
    audios = [base, np.tile(base, scale.long_audio_repeats)]
    release_config = pipe.scheduler.config
    rows, runs = [], []
    for audio in audios:
        for sampling in (FAST_SAMPLING, RELEASE_SAMPLING):
            steps = scale.sampling_steps or sampling["num_inference_steps"]
            audio_s = audio.shape[-1] / 44100
            what = f"{sampling_name(sampling, steps)}, {duration(audio_s)} of stereo"
            batch = scale.pipeline_window_batch
            calls = model_calls(audio.shape[-1], sampling["window_schedule"], steps, scale)
            estimate = predicted_seconds(runs, sampling, audio_s, calls * seconds_per_call)
            if not budget.allows(estimate):
                note = f"budget: ~{estimate:.0f} s predicted, {budget.left():.0f} s left"
                rows.append(Row("pipeline", what, "skipped", note=note))
                runs.append(PipelineRun(sampling, steps, audio_s, None))
                continue
            pipe.scheduler = sampling_scheduler(sampling, release_config)
            reset_peaks(device)
            start = time.perf_counter()
            pipe(
                audio,
                44100,
                cutoff_hz=CUTOFF_HZ,
                num_inference_steps=steps,
                window_schedule=sampling["window_schedule"],
                window_frames=scale.pipeline_window[0],
                hop_frames=scale.pipeline_window[1],
                window_batch_size=batch,
                generator=torch.Generator().manual_seed(0),
            )
            synchronize(device)
            seconds = time.perf_counter() - start
            runs.append(PipelineRun(sampling, steps, audio_s, seconds))
            rows.append(
                Row(
                    "pipeline",
                    what,
                    f"{seconds:.1f} s",
                    f"{audio_s / seconds:.2f} audio s/s",
                    gib(peak_gpu_bytes(device)),
                    peak_rss_gib(),
                    f"{scale.pipeline_dtype}, window batch {batch}, ~{calls} model calls",
                )
            )
    pipe.scheduler = I2SBScheduler.from_config(release_config)
    return rows, runs


def predicted_seconds(
    runs: list[PipelineRun], sampling: dict, audio_s: float, network_s: float
) -> float:
    """A run's time for the budget: linear in length from a shorter measured run of the same
    sampling (it holds the pipeline's CPU work too), else 1.2 × the network's time alone."""
    measured = [run for run in runs if run.sampling is sampling and run.seconds is not None]
    if measured:
        return 1.1 * measured[-1].seconds * audio_s / measured[-1].audio_s
    return 1.2 * network_s


def fit_line(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares `(intercept, slope)` of y over x; at least two distinct x."""
    xs = np.array([x for x, _ in points], dtype=float)
    ys = np.array([y for _, y in points], dtype=float)
    slope, intercept = np.polyfit(xs, ys, 1)
    return float(intercept), float(slope)


def largest_fitting_batch(
    predicted: int, fits: Callable[[int], bool], max_tries: int = 6
) -> tuple[int | None, list[tuple[int, bool]], bool]:
    """Search from `predicted` for the largest batch size that `fits`, one step at a time.

    Returns:
        `(largest batch that fitted or None, every (batch, fitted) tried, bracketed)`, where
        bracketed means the batch one larger was tried and did not fit.
    """
    tried: list[tuple[int, bool]] = []

    def attempt(batch: int) -> bool:
        tried.append((batch, fits(batch)))
        return tried[-1][1]

    batch = max(1, predicted)
    if attempt(batch):
        while len(tried) < max_tries:
            if not attempt(batch + 1):
                return batch, tried, True
            batch += 1
        return batch, tried, False
    while batch > 1 and len(tried) < max_tries:
        batch -= 1
        if attempt(batch):
            return batch, tried, True
    return None, tried, False


def card_fit_rows(
    pipe, forwards: dict[tuple[str, int], Forward], scale: Scale, device: torch.device
) -> list[Row]:
    """The largest window batch for 16 and 24 GiB cards: predicted by a line through the
    measured peak memory of the eager forwards, then checked with one pipeline step at that
    batch under a memory cap (`torch.cuda.set_per_process_memory_fraction`)."""
    if device.type != "cuda":
        note = "needs CUDA memory statistics: not measured on the CPU"
        return [Row("pipeline", card_what(card_gib, scale), note=note) for card_gib in CARDS_GIB]
    points = [
        (batch, forwards[scale.pipeline_dtype, batch].gpu_bytes / 2**30) for batch in scale.batches
    ]
    free, total = torch.cuda.mem_get_info(device)
    outside_allocator = (total - free) - torch.cuda.memory_reserved(device)
    line = fit_line(points)
    free, total = torch.cuda.mem_get_info(device)
    outside_allocator = (total - free) - torch.cuda.memory_reserved(device)
    return [
        card_fit_row(pipe, card_gib, outside_allocator, line, total, scale, device)
        for card_gib in CARDS_GIB
    ]


def card_what(card_gib: int, scale: Scale) -> str:
    return f"largest window batch, {card_gib} GiB card ({scale.pipeline_dtype})"


def card_fit_row(
    pipe,
    card_gib: int,
    outside_allocator: int,
    line: tuple[float, float],
    total: int,
    scale: Scale,
    device: torch.device,
) -> Row:
    """The largest window batch on a card of `card_gib` GiB, of which `outside_allocator`
    bytes go to what PyTorch's allocator does not count (the CUDA context, as measured on this
    device): predicted by `line` (GiB over batch), checked by `largest_fitting_batch`."""
    intercept, slope = line
    cap = card_gib * 2**30 - outside_allocator
    predicted = math.floor((cap / 2**30 - intercept) / slope)
    found, tried, bracketed = largest_fitting_batch(
        predicted, lambda batch: pipeline_step_fits(pipe, batch, cap / total, scale, device)
    )
    trace = ", ".join(f"{batch} {'fits' if ok else 'OOM'}" for batch, ok in tried)
    return Row(
        "pipeline",
        card_what(card_gib, scale),
        throughput=f"batch {found if found is not None else 'none'}"
        + ("" if bracketed else " (search not bracketed)"),
        note=f"line {intercept:.2f} + {slope:.3f}·batch GiB predicts {predicted}; "
        f"tried {trace}; cap {cap / 2**30:.2f} GiB = {card_gib} GiB − "
        f"{outside_allocator / 2**30:.2f} GiB outside PyTorch's allocator",
    )


def pipeline_step_fits(
    pipe, batch: int, fraction: float, scale: Scale, device: torch.device
) -> bool:
    """One release-sampler step with exactly `batch` windows per call, under a memory cap."""
    window_frames, hop_frames = scale.pipeline_window
    frames = hop_frames * (batch + 1)
    audio = synth_music(frames * HOP, channels=1)
    torch.cuda.empty_cache()
    torch.cuda.set_per_process_memory_fraction(fraction, device)
    try:
        pipe(
            audio,
            44100,
            cutoff_hz=CUTOFF_HZ,
            num_inference_steps=1,
            window_schedule="overlap",
            window_frames=window_frames,
            hop_frames=hop_frames,
            window_batch_size=batch,
        )
        synchronize(device)
        return True
    except torch.OutOfMemoryError:
        return False
    finally:
        torch.cuda.empty_cache()
        torch.cuda.set_per_process_memory_fraction(1.0, device)


def measure_training(scale: Scale, device: torch.device) -> list[Row]:
    """The Trainer's steps at the paper geometry (bf16) and with the bundled model's recipe."""
    from accelerate.state import AcceleratorState

    segment = (
        [f"data.segment_samples={scale.training_segment_samples}"]
        if scale.training_segment_samples
        else []
    )
    runs = [
        (
            f"paper geometry, {scale.paper_network} network, bf16, batch {scale.training_batch}",
            None,
            [
                f"model.unet={NETWORKS[scale.paper_network]}",
                f"batch_size={scale.training_batch}",
                "mixed_precision=bf16",
            ],
        ),
        (
            "a2sb-small recipe (recipes/a2sb_small/train.yaml)",
            TRAINING_RECIPE,
            [f"batch_size={scale.recipe_batch}"] if scale.recipe_batch else [],
        ),
    ]
    rows = []
    for what, config_file, overrides in runs:
        # Accelerate keeps one state per process; each run sets its own mixed precision.
        AcceleratorState._reset_state(reset_partial_state=True)
        reset_peaks(device)
        result = time_training_steps(
            config_file,
            [*overrides, *segment],
            scale.training_steps,
            scale.training_warmup,
            device.type,
            scale.music_minutes,
        )
        step = statistics.median(result["seconds"])
        segments = result["batch_size"] / step
        audio_per_second = segments * result["segment_samples"] / 44100
        rows.append(
            Row(
                "training",
                what,
                f"{step:.3f} s/step",
                f"{segments:.2f} segments/s ({audio_per_second:.1f} audio s/s)",
                gib(peak_gpu_bytes(device)),
                peak_rss_gib(),
                f"{result['parameters']:,} parameters, batch {result['batch_size']} × "
                f"{result['segment_samples']:,} samples, mixed precision "
                f"{result['mixed_precision']}; median of {scale.training_steps} step(s) "
                f"after {scale.training_warmup} warm-up",
            )
        )
    return rows


def projection_rows(runs: list[PipelineRun]) -> list[Row]:
    """One hour of stereo per sampling, linear in the longest measured run."""
    rows = []
    for sampling in (RELEASE_SAMPLING, FAST_SAMPLING):
        of_sampling = [run for run in runs if run.sampling is sampling]
        measured = [run for run in of_sampling if run.seconds is not None]
        what = f"1 h stereo, {sampling_name(sampling, of_sampling[0].steps)}"
        if not measured:
            rows.append(Row("projection", what, "—", note="no run of this sampling measured"))
            continue
        longest = max(measured, key=lambda r: r.audio_s)
        hour = longest.seconds * 3600 / longest.audio_s
        rows.append(
            Row(
                "projection",
                what,
                f"{hour:.0f} s ({hour / 60:.1f} min)",
                f"{3600 / hour:.2f} audio s/s",
                note=f"the run on {duration(longest.audio_s)} × {3600 / longest.audio_s:g}",
            )
        )
    return rows


def environment(device: torch.device) -> str:
    """The device, the versions and the precision flags the figures depend on."""
    if device.type == "cuda":
        where = (
            f"{torch.cuda.get_device_name(device)} "
            f"({torch.cuda.get_device_properties(device).total_memory / 2**30:.1f} GiB), "
            f"CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}"
        )
    else:
        where = f"CPU {platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    return (
        f"{where}; torch {torch.__version__}, Python {platform.python_version()}; fp32 with "
        f"TF32 matmul {torch.backends.cuda.matmul.allow_tf32}, "
        f"TF32 cuDNN {torch.backends.cudnn.allow_tf32} (torch defaults)"
    )


def section(rows: list[Row], device: torch.device, command: str, smoke: bool, wall_s: float) -> str:
    lines = [HEADING, ""]
    if smoke:
        lines += [
            "**Smoke run on the CPU: tiny configurations, seconds of audio, fewer sampling "
            "steps, `torch.compile` with the `eager` backend (Dynamo only). These are checks "
            "of the code paths, not figures.**",
            "",
        ]
    lines += [
        f"`{command}` — {environment(device)}; {wall_s:.0f} s in all.",
        "",
        f"Release sampler: {RELEASE_SAMPLING}; fast default: {FAST_SAMPLING}. Random weights, "
        f"bandwidth extension at {CUTOFF_HZ} Hz of synthesized stereo music (tests/synth.py). "
        "Model rows: median forward after one first call, `torch.inference_mode()`, peak "
        "`torch.cuda.max_memory_allocated` of that model alone. Peak host RSS: "
        + (
            "VmHWM, reset before each measurement (includes what the process already holds). "
            if host_peak_resets()
            else "VmHWM of the whole process so far (this system refused to reset it). "
        )
        + "Largest window "
        "batch: a line through the peak memory of the eager forwards at the pipeline's dtype "
        "predicts it; one pipeline step at that batch under a cap of the card's memory less "
        "what this device holds outside PyTorch's allocator (CUDA context) checks it, stepping "
        "until a batch fits and the next does not. Projections: linear in the audio's length.",
        "",
        TABLE_HEADER,
        *(row.markdown() for row in rows),
        "",
    ]
    return "\n".join(lines)


def progress(result):
    """Print a phase's rows to stderr as soon as they are measured (a run cut short by its
    time limit still shows them); returns `result` (rows, or a tuple with rows first)."""
    rows = result[0] if isinstance(result, tuple) else result
    for row in rows:
        print(row.markdown(), file=sys.stderr, flush=True)
    return result


def run_suite(
    scale: Scale, device: torch.device, budget: Budget, compile_guess_s: float
) -> list[Row]:
    """Every measurement, the cheap and needed ones first; the rows in the table's order."""
    master = master_unet(scale)
    eager_rows, forwards = progress(measure_eager_models(master, scale, device))
    pipe = build_pipeline(scale.pipeline_model, DTYPES[scale.pipeline_dtype], str(device))
    card_rows = progress(card_fit_rows(pipe, forwards, scale, device))
    seconds_per_call = forwards[scale.pipeline_dtype, max(scale.batches)].median_s * (
        scale.pipeline_window_batch / max(scale.batches)
    )
    pipeline_rows, runs = progress(measure_pipelines(pipe, scale, device, budget, seconds_per_call))
    del pipe
    training_rows = progress(measure_training(scale, device))
    compiled_rows = progress(
        measure_compiled_models(master, scale, device, budget, compile_guess_s)
    )
    return [
        *eager_rows,
        *compiled_rows,
        *pipeline_rows,
        *card_rows,
        *training_rows,
        *projection_rows(runs),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny configs on the CPU (CI)")
    parser.add_argument(
        "--results-file",
        type=Path,
        help="markdown file for the section (default: benchmarks/RESULTS.md; "
        "--smoke writes only when given)",
    )
    parser.add_argument("--budget-s", type=float, default=420.0, help="wall-clock budget")
    parser.add_argument(
        "--compile-guess-s",
        type=float,
        default=90.0,
        help="predicted cost of the first dtype's compilation (later ones: the last measured)",
    )
    args = parser.parse_args()
    if args.smoke:
        device = torch.device("cpu")
        torch.set_num_threads(1)  # a shared CPU: one thread is fastest under contention
    elif torch.cuda.is_available():
        device = torch.device("cuda")
    else:
        sys.exit("gpu_suite: no CUDA device here; run it on a GPU machine, or --smoke on the CPU")
    started = time.perf_counter()
    rows = run_suite(
        SMOKE if args.smoke else REAL, device, Budget(args.budget_s), args.compile_guess_s
    )
    command = shlex.join(["python", "benchmarks/gpu_suite.py", *sys.argv[1:]])
    text = section(rows, device, command, args.smoke, time.perf_counter() - started)
    print(text)
    results_file = args.results_file
    if results_file is None and not args.smoke:
        results_file = REPOSITORY / "benchmarks" / "RESULTS.md"
    if results_file is not None:
        write_section(results_file, text)


if __name__ == "__main__":
    main()
