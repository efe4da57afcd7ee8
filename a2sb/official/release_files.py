"""Where the release's files are: downloaded from the Hub or found in a local folder, and
where their conversion to a pipeline is cached (so that the 2.26 GB pickles are read once)."""

import hashlib
from collections.abc import Sequence
from pathlib import Path

from huggingface_hub import constants, hf_hub_download
from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

from a2sb.errors import A2SBInputError
from a2sb.official.release_layout import (
    OFFICIAL_REPO_ID,
    RELEASE_FILES,
    ReleaseVariant,
    check_variant,
)


def default_conversion_cache() -> Path:
    """Where converted release pipelines are kept: `<HF_HOME>/a2sb/converted`."""
    return Path(constants.HF_HOME) / "a2sb" / "converted"


def release_cache_folder(
    source: str, variant: ReleaseVariant, cache_dir: Path | None = None
) -> Path:
    """The folder that holds (or will hold) the converted pipeline of a release variant.

    Args:
        source: the release's Hub id, or a local folder in its layout.
        variant: "twosplit" or "onesplit".
        cache_dir: the cache (`default_conversion_cache()` if None).
    """
    check_variant(variant)
    folder = Path(source)
    key = str(folder.resolve()) if folder.is_dir() else source
    return (cache_dir or default_conversion_cache()) / _cache_name(
        folder.name or source, variant, key
    )


def checkpoint_files_cache_folder(
    checkpoints: Sequence[Path],
    t_cutoffs: Sequence[float] | None,
    num_attention_heads: int,
    cache_dir: Path | None = None,
) -> Path:
    """The cache folder of the conversion of given `.ckpt` files: a file that changes (its
    path, size or modification time), other cutoffs or another head count get another one."""
    stats = [
        (str(path.resolve()), path.stat().st_size, path.stat().st_mtime_ns) for path in checkpoints
    ]
    key = repr((stats, None if t_cutoffs is None else list(t_cutoffs), num_attention_heads))
    return (cache_dir or default_conversion_cache()) / _cache_name(
        checkpoints[0].stem, "files", key
    )


def _cache_name(readable: str, kind: str, key: str) -> str:
    """A folder name: readable, then the kind of conversion, then a digest of what it is of."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    readable = "".join(c if c.isalnum() else "-" for c in readable)
    return f"{readable}-{kind}-{digest}"


def release_checkpoint_files(
    source: str, variant: ReleaseVariant, local_files_only: bool = False
) -> list[Path]:
    """The `.ckpt` files of a release variant, downloading them from the Hub if needed.

    Args:
        source: the release's Hub id, or a local folder holding its files (in `ckpt/` or at
            its top).
        variant: "twosplit" or "onesplit".
        local_files_only: never reach the Hub; use only files already downloaded.
    """
    check_variant(variant)
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
