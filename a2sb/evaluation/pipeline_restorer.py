"""An A2SBPipeline as a restorer of the evaluation harness."""

from __future__ import annotations

import numpy as np
import torch

from a2sb.evaluation.protocol import Restorer, TaskInfo
from a2sb.pipelines import A2SBPipeline


def pipeline_restorer(
    pipeline: A2SBPipeline,
    num_inference_steps: int | None = None,
    seed: int = 0,
    window_batch_size: int = 4,
    window_schedule: str | None = None,
) -> Restorer:
    """Wrap a pipeline so that the harness can call it like a baseline.

    The pipeline is told what the protocol removed (the cutoff, or the gaps) and returns audio
    at the degraded input's own rate and length. Every input is restored with a generator
    seeded by `seed`, so scores are reproducible.

    Args:
        pipeline: a loaded `A2SBPipeline` (on its device and dtype).
        num_inference_steps: network calls per restoration; None: the pipeline's default.
        seed: seed of each restoration's noise.
        window_batch_size: windows per model call.
        window_schedule: "overlap" or "shifted"; None: the pipeline's default.
    """

    def restore(degraded: np.ndarray, sampling_rate: int, info: TaskInfo) -> np.ndarray:
        output = pipeline(
            degraded,
            sampling_rate,
            task=info.task,
            cutoff_hz=info.cutoff_hz,
            gaps=list(info.gaps) or None,
            num_inference_steps=num_inference_steps,
            generator=torch.Generator().manual_seed(seed),
            window_batch_size=window_batch_size,
            window_schedule=window_schedule,
            output_sampling_rate=sampling_rate,
            output_type="np",
        )
        return output.audios[0]

    return restore
