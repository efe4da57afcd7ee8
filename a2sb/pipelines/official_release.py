"""The released NVIDIA A2SB checkpoints as a ready pipeline: find, download, convert once, cache.

The Hub repository `nvidia/audio_to_audio_schrodinger_bridge` holds Lightning pickles under
`ckpt/` and no `model_index.json`. This module recognises that layout (on the Hub or in a local
folder), downloads the files of the chosen variant with huggingface_hub, converts them with
`a2sb.models.convert_official_checkpoints`, and caches the converted pipeline (safetensors), so
that the 2.26 GB pickles are read once.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Literal

from huggingface_hub import constants, hf_hub_download
from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

from a2sb.errors import A2SBInputError

logger = logging.getLogger(__name__)

OFFICIAL_REPO_ID = "nvidia/audio_to_audio_schrodinger_bridge"
ReleaseVariant = Literal["twosplit", "onesplit"]
RELEASE_FILES: dict[str, list[str]] = {
    "twosplit": [
        "ckpt/A2SB_twosplit_0.0_0.5_release.ckpt",
        "ckpt/A2SB_twosplit_0.5_1.0_release.ckpt",
    ],
    "onesplit": ["ckpt/A2SB_onesplit_0.0_1.0_release.ckpt"],
}
"""Release files of each variant, relative to the repository root. twosplit: two partitions
with t-cutoff 0.5 (the paper's best model); onesplit: one model for all t."""

LICENCE_NOTICE = (
    "The released A2SB weights are NVIDIA's, under a non-commercial licence (see the model "
    f"card of {OFFICIAL_REPO_ID} on the Hugging Face Hub); a2sb's own code is Apache-2.0."
)

_licence_shown = False


def default_conversion_cache() -> Path:
    """Where converted release pipelines are kept: `<HF_HOME>/a2sb/converted`."""
    return Path(constants.HF_HOME) / "a2sb" / "converted"


def is_release_folder(folder: Path) -> bool:
    """A local folder in the release layout: release `.ckpt` files and no `model_index.json`."""
    if (folder / "model_index.json").exists():
        return False
    return any(folder.glob("ckpt/A2SB_*_release.ckpt")) or any(folder.glob("A2SB_*_release.ckpt"))


def show_licence_once() -> None:
    """Log the licence of the released weights, once per process."""
    global _licence_shown
    if not _licence_shown:
        logger.warning(LICENCE_NOTICE)
        _licence_shown = True


def converted_release(
    source: str,
    variant: ReleaseVariant = "twosplit",
    cache_dir: Path | None = None,
    trust_checkpoint: bool = False,
    num_attention_heads: int = 8,
    local_files_only: bool = False,
) -> Path:
    """The folder of a converted release pipeline, converting (and downloading) if needed.

    Args:
        source: a Hub repository id in the release layout, or a local folder holding the
            release files (in `ckpt/` or at its top).
        variant: "twosplit" (default, two partitions, cutoff 0.5) or "onesplit".
        cache_dir: where converted pipelines are kept (`default_conversion_cache()` if None).
        trust_checkpoint: unpickle the files fully (see `load_official_checkpoint`).
        num_attention_heads: heads of the released network (8; not stored in the weights).
        local_files_only: never reach the Hub; use only files already downloaded.

    Returns:
        A folder that `A2SBPipeline.from_pretrained` loads.
    """
    if variant not in RELEASE_FILES:
        raise A2SBInputError(
            f"unknown release variant {variant!r}; choose one of {', '.join(RELEASE_FILES)}"
        )
    target = (cache_dir or default_conversion_cache()) / _cache_name(source, variant)
    if (target / "model_index.json").exists():
        return target
    checkpoints = _release_files(source, variant, local_files_only)
    _convert(checkpoints, target, trust_checkpoint, num_attention_heads)
    return target


def _cache_name(source: str, variant: str) -> str:
    """A folder name per (source, variant): the repo id, or a local folder's resolved path."""
    folder = Path(source)
    key = str(folder.resolve()) if folder.is_dir() else source
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    readable = "".join(c if c.isalnum() else "-" for c in folder.name or source)
    return f"{readable}-{variant}-{digest}"


def _release_files(source: str, variant: ReleaseVariant, local_files_only: bool) -> list[Path]:
    folder = Path(source)
    if folder.is_dir():
        return [_local_release_file(folder, name) for name in RELEASE_FILES[variant]]
    return [_download(source, name, local_files_only) for name in RELEASE_FILES[variant]]


def _local_release_file(folder: Path, name: str) -> Path:
    for candidate in (folder / name, folder / Path(name).name):
        if candidate.exists():
            return candidate
    raise A2SBInputError(
        f"{folder} is in the A2SB release layout but lacks {name}; download it from "
        f"{OFFICIAL_REPO_ID} or choose the variant whose files you have"
    )


def _download(repo_id: str, filename: str, local_files_only: bool) -> Path:
    try:
        return Path(hf_hub_download(repo_id, filename, local_files_only=local_files_only))
    except LocalEntryNotFoundError as error:
        raise A2SBInputError(
            f"cannot download {filename} from {repo_id}: the Hub is not reachable (offline?) "
            "and the file is not in the local cache; pass a local path instead: a folder with "
            "the release's ckpt/ files, or a converted pipeline folder"
        ) from error
    except EntryNotFoundError as error:
        raise A2SBInputError(
            f"{repo_id} has no {filename}: it is not in the A2SB release layout; pass a "
            "diffusers pipeline folder or repository (with model_index.json)"
        ) from error


def release_pipeline(
    checkpoints: list[Path],
    t_cutoffs: list[float] | None = None,
    trust_checkpoint: bool = False,
    num_attention_heads: int = 8,
):
    """An `A2SBPipeline` of release files, with the released sampler (I2SB, 49 steps, overlap).

    The scheduler holds the partitions' t-cutoffs (from the file names, or `t_cutoffs`).
    """
    from a2sb.models import convert_official_checkpoints
    from a2sb.pipelines.pipeline_a2sb import A2SBPipeline
    from a2sb.schedulers import I2SBScheduler

    unet, t_cutoffs = convert_official_checkpoints(
        checkpoints,
        t_cutoffs=t_cutoffs,
        num_attention_heads=num_attention_heads,
        trust_checkpoint=trust_checkpoint,
    )
    return A2SBPipeline(unet=unet, scheduler=I2SBScheduler(t_cutoffs=t_cutoffs))


def _convert(
    checkpoints: list[Path], target: Path, trust_checkpoint: bool, num_attention_heads: int
) -> None:
    """Convert release files to a pipeline folder, written whole or not at all."""
    logger.info("converting %s to %s (once)", ", ".join(map(str, checkpoints)), target)
    pipeline = release_pipeline(
        checkpoints, trust_checkpoint=trust_checkpoint, num_attention_heads=num_attention_heads
    )
    partial = target.with_name(target.name + ".partial")
    pipeline.save_pretrained(partial, safe_serialization=True)
    partial.rename(target)
