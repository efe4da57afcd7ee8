"""Released A2SB checkpoints converted once to a pipeline folder, kept in a cache.

`FromOfficialCheckpointsMixin` gives `A2SBPipeline.from_official_checkpoints` (as diffusers'
`FromSingleFileMixin` gives `from_single_file`): it loads the folder this module makes; the
conversion of the networks themselves is `a2sb.official`'s. The pipeline class is the mixin's
`cls` or passed in, so that this module, below the pipeline, never imports it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diffusers import DiffusionPipeline

from a2sb.notices import notice_once
from a2sb.official import (
    LICENCE_NOTICE,
    OFFICIAL_REPO_ID,
    ReleaseVariant,
    check_checkpoint_exists,
    checkpoint_files_cache_folder,
    checkpoint_paths,
    convert_official_checkpoints,
    is_release_source,
    release_cache_folder,
    release_checkpoint_files,
)
from a2sb.schedulers import I2SBScheduler

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConversionOptions:
    """How release files are found and converted (see `A2SBPipeline.from_official_checkpoints`)."""

    release_variant: ReleaseVariant = "twosplit"
    trust_checkpoint: bool = False
    num_attention_heads: int = 8
    t_cutoffs: Sequence[float] | None = None
    cache_dir: Path | None = None
    local_files_only: bool = False


class FromOfficialCheckpointsMixin:
    """Loading of NVIDIA's released checkpoints, for a pipeline class built `(unet=…,
    scheduler=…)` that has `from_pretrained`."""

    @classmethod
    def from_official_checkpoints(
        cls,
        checkpoints: str | os.PathLike | Sequence[str | os.PathLike] = OFFICIAL_REPO_ID,
        release_variant: ReleaseVariant = "twosplit",
        trust_checkpoint: bool = False,
        conversion_cache_dir: str | os.PathLike | None = None,
        release_num_attention_heads: int = 8,
        t_cutoffs: Sequence[float] | None = None,
        **kwargs: Any,
    ) -> DiffusionPipeline:
        """A pipeline from NVIDIA's released `.ckpt` pickles (as diffusers' `from_single_file`),
        converted once (`a2sb.official`) and cached as a safetensors pipeline folder.

        Args:
            checkpoints: the release (its Hub id, the default, or a local folder holding its
                `ckpt/` files), whose `release_variant` files are downloaded if needed; or
                `.ckpt` files: one gives a `RoPEUNet2DModel`, several the partitions of an
                `A2SBPartitionedModel`.
            release_variant: for the release: "twosplit" (two partitions, the paper's best)
                or "onesplit".
            trust_checkpoint: unpickle fully if `weights_only` refuses (runs the file's code).
            conversion_cache_dir: where the converted pipeline is cached (default
                `<HF_HOME>/a2sb/converted`).
            release_num_attention_heads: attention heads of the network (8 in the release;
                the weights do not show it).
            t_cutoffs: for `.ckpt` files: cutoffs between partitions, in the files' order
                (default: read from the t-ranges in the file names).
            **kwargs: passed to `from_pretrained` of the cached folder (`torch_dtype`,
                `local_files_only`, …).
        """
        notice_once(logger.name, LICENCE_NOTICE)
        options = ConversionOptions(
            release_variant=release_variant,
            trust_checkpoint=trust_checkpoint,
            num_attention_heads=release_num_attention_heads,
            t_cutoffs=t_cutoffs,
            cache_dir=Path(conversion_cache_dir) if conversion_cache_dir else None,
            local_files_only=kwargs.get("local_files_only", False),
        )
        target = converted_pipeline_folder(cls, checkpoints, options)
        return cls.from_pretrained(target, **kwargs)


def converted_pipeline_folder(
    pipeline_class: type[DiffusionPipeline],
    checkpoints: str | os.PathLike | Sequence[str | os.PathLike],
    options: ConversionOptions,
) -> Path:
    """The cached pipeline folder of released checkpoints, converting them if it is not there.

    Args:
        pipeline_class: the pipeline to build, `(unet=…, scheduler=…)`.
        checkpoints: the release (Hub id or a local folder in its layout; the files of
            `options.release_variant`), or `.ckpt` files.
        options: variant, trust, head count, cutoffs, cache and Hub access.
    """
    if isinstance(checkpoints, str | os.PathLike) and is_release_source(checkpoints):
        source = str(checkpoints)
        target = release_cache_folder(source, options.release_variant, options.cache_dir)
        if not (target / "model_index.json").exists():
            files = release_checkpoint_files(
                source, options.release_variant, options.local_files_only
            )
            _convert_to_folder(pipeline_class, files, options, target)
        return target
    files = [check_checkpoint_exists(path) for path in checkpoint_paths(checkpoints)]
    target = checkpoint_files_cache_folder(
        files, options.t_cutoffs, options.num_attention_heads, options.cache_dir
    )
    if not (target / "model_index.json").exists():
        _convert_to_folder(pipeline_class, files, options, target)
    return target


def release_pipeline(
    pipeline_class: type[DiffusionPipeline],
    checkpoints: Sequence[Path],
    options: ConversionOptions,
) -> DiffusionPipeline:
    """A pipeline of release files, in memory, with the released sampler (I2SB); its scheduler
    holds the partitions' t-cutoffs (from the file names, or `options.t_cutoffs`)."""
    unet, t_cutoffs = convert_official_checkpoints(
        checkpoints, options.t_cutoffs, options.num_attention_heads, options.trust_checkpoint
    )
    return pipeline_class(unet=unet, scheduler=I2SBScheduler(t_cutoffs=t_cutoffs))


def _convert_to_folder(
    pipeline_class: type[DiffusionPipeline],
    checkpoints: list[Path],
    options: ConversionOptions,
    target: Path,
) -> None:
    """Convert `.ckpt` files to a pipeline folder at `target`, written whole or not at all."""
    logger.info("converting %s to %s (once)", ", ".join(map(str, checkpoints)), target)
    partial = target.with_name(target.name + ".partial")
    pipeline = release_pipeline(pipeline_class, checkpoints, options)
    pipeline.save_pretrained(partial, safe_serialization=True)
    partial.rename(target)
