"""The README.md written beside a trained pipeline (a Hugging Face model card)."""

from __future__ import annotations

from dataclasses import dataclass

from a2sb.training.config import TrainingConfig


@dataclass
class TrainingFacts:
    """What the card reports about a run besides its configuration.

    Args:
        step: optimizer steps trained.
        num_processes: training processes.
        num_parameters: parameters of the network.
        data_summary: files and hours used (`AudioFileScan.summary()`).
    """

    step: int
    num_processes: int
    num_parameters: int
    data_summary: str


def model_card(config: TrainingConfig, facts: TrainingFacts) -> str:
    """The card's Markdown, with Hub metadata: data, steps, time range, licence, usage."""
    t_min, t_max = config.bridge.t_range
    total_batch = config.batch_size * facts.num_processes * config.gradient_accumulation_steps
    sources = ", ".join([*config.data.folders, *filter(None, [config.data.manifest])])
    covers_all = (t_min, t_max) == (0.0, 1.0)
    partition_note = (
        "This network covers the whole bridge, t ∈ [0, 1]."
        if covers_all
        else f"This network covers only t ∈ [{t_min:g}, {t_max:g}) of the bridge. Join it "
        "with networks trained on the other ranges before restoring audio:\n\n"
        "    a2sb assemble-partitions LOW_DIR HIGH_DIR --t-cutoffs 0.5 --output DIR"
    )
    settings = config.representation
    rows = [
        ("Training data", config.model_card.data_description or "(not described)"),
        ("Data sources", f"{sources} — {facts.data_summary}"),
        ("Segments", f"{config.data.segment_samples} samples, channels: {config.data.channels}"),
        ("Steps", f"{facts.step}"),
        ("Diffusion-time range", f"[{t_min:g}, {t_max:g})"),
        (
            "Representation",
            f"{settings.kind} STFT, n_fft {settings.n_fft}, hop {settings.hop_length}",
        ),
        ("Network", f"RoPEUNet2DModel, {facts.num_parameters:,} parameters"),
        (
            "Batch",
            f"{total_batch} ({facts.num_processes} process(es) × {config.batch_size} × "
            f"{config.gradient_accumulation_steps} accumulation)",
        ),
        (
            "Optimizer",
            f"{config.optimizer.name}, lr {config.optimizer.learning_rate:g}, grad-norm clip "
            f"{config.optimizer.max_grad_norm:g}",
        ),
        ("Precision", config.mixed_precision),
        ("EMA", f"decay {config.ema.decay:g}" if config.ema.enabled else "no"),
        ("Licence", config.model_card.license),
    ]
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    return f"""---
license: {config.model_card.license}
library_name: a2sb
pipeline_tag: audio-to-audio
tags:
- audio
- audio-to-audio
- bandwidth-extension
- audio-inpainting
- schrodinger-bridge
- a2sb
---

# A2SB restoration pipeline

An Audio-to-Audio Schrödinger Bridge ([arXiv 2501.11311](https://arxiv.org/abs/2501.11311))
for bandwidth extension and inpainting of {config.data.sampling_rate} Hz music, trained with
the `a2sb` library.

{partition_note}

| | |
|---|---|
{table}

The licence of these weights must respect the licences of the training music.

## Use

```python
from a2sb.pipelines import A2SBPipeline

pipeline = A2SBPipeline.from_pretrained("PATH_OR_REPO")
restored = pipeline(audio, sampling_rate, task="bandwidth_extension", cutoff_hz=4000).audios
```
"""
