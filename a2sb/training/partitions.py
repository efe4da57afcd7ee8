"""Join pipelines trained on separate ranges of bridge time into one (paper §3.5)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from a2sb.errors import A2SBInputError
from a2sb.models import A2SBPartitionedModel, RoPEUNet2DModel
from a2sb.models.partitioned import check_t_cutoffs
from a2sb.pipelines import A2SBPipeline
from a2sb.schedulers import I2SBScheduler


def assemble_partitions(
    pipeline_dirs: Sequence[str | os.PathLike], t_cutoffs: Sequence[float]
) -> A2SBPipeline:
    """One pipeline whose network routes each time t to the pipeline trained for it.

    Pipeline k serves t ∈ [t_cutoffs[k−1], t_cutoffs[k]) (c_0 = 0, c_K = 1): for the released
    two-split, `assemble_partitions([low_dir, high_dir], [0.5])`. The weights are not copied.

    Args:
        pipeline_dirs: K pipeline folders (e.g. `OUTPUT_DIR/pipeline` of K training runs),
            each with a single `RoPEUNet2DModel` of one architecture and one representation.
        t_cutoffs: K − 1 strictly increasing times inside (0, 1).

    Returns:
        An `A2SBPipeline` with an `A2SBPartitionedModel` and a scheduler with `t_cutoffs`.
    """
    if len(pipeline_dirs) < 2:
        raise A2SBInputError("assembling partitions needs at least two pipeline folders")
    check_t_cutoffs(t_cutoffs)
    if len(t_cutoffs) != len(pipeline_dirs) - 1:
        raise A2SBInputError(
            f"{len(pipeline_dirs)} pipelines need {len(pipeline_dirs) - 1} t-cutoff(s), got "
            f"{len(t_cutoffs)}: {list(t_cutoffs)}"
        )
    pipelines = [_load(Path(folder)) for folder in pipeline_dirs]
    representation = _shared_representation(pipelines, pipeline_dirs)
    beta_max = _shared_beta_max(pipelines, pipeline_dirs)
    unet = A2SBPartitionedModel.from_partitions([pipeline.unet for pipeline in pipelines])
    base = pipelines[0].scheduler.config
    scheduler = I2SBScheduler(
        beta_max=beta_max, t_min=base.t_min, ot_ode=base.ot_ode, t_cutoffs=list(t_cutoffs)
    )
    return A2SBPipeline(unet=unet, scheduler=scheduler, representation_config=representation)


def _load(folder: Path) -> A2SBPipeline:
    if not (folder / "model_index.json").is_file():
        raise A2SBInputError(
            f"{folder} is not an A2SB pipeline folder (no model_index.json); pass the pipeline "
            "folders of training runs (OUTPUT_DIR/pipeline)"
        )
    pipeline = A2SBPipeline.from_pretrained(folder)
    if not isinstance(pipeline.unet, RoPEUNet2DModel):
        raise A2SBInputError(
            f"{folder} holds a {type(pipeline.unet).__name__}, not a single RoPEUNet2DModel; "
            "assemble pipelines of one network each"
        )
    return pipeline


def _shared_representation(pipelines: list[A2SBPipeline], folders: Sequence) -> dict:
    configs = [json.loads(pipeline.representation.to_json_string()) for pipeline in pipelines]
    comparable = [
        {key: value for key, value in config.items() if key != "_diffusers_version"}
        for config in configs
    ]
    for folder, config in zip(folders[1:], comparable[1:], strict=True):
        if config != comparable[0]:
            raise A2SBInputError(
                f"{folder} uses the representation {config} but {folders[0]} uses "
                f"{comparable[0]}; partitions must share one representation"
            )
    return configs[0]


def _shared_beta_max(pipelines: list[A2SBPipeline], folders: Sequence) -> float:
    values = [pipeline.scheduler.config.beta_max for pipeline in pipelines]
    if len(set(values)) > 1:
        raise A2SBInputError(
            f"the pipelines {list(map(str, folders))} use different bridges (beta_max "
            f"{values}); partitions must be trained on one bridge"
        )
    return values[0]
