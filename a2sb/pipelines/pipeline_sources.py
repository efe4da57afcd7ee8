"""Where `A2SBPipeline.from_pretrained` loads a saved pipeline from: the bundled model's name, a
local folder, or a Hub repository id. (The release goes to `from_official_checkpoints`.)"""

from __future__ import annotations

import logging
from pathlib import Path

from a2sb.errors import A2SBInputError, first_line
from a2sb.notices import notice_once
from a2sb.pipelines.bundled_model import (
    BUNDLED_MODEL_NAME,
    bundled_model_folder,
    bundled_model_notice,
)

logger = logging.getLogger(__name__)


def looks_like_hub_id(source: str) -> bool:
    """Whether `source` has the form of a Hub repository id, `owner/name`: one slash, and not
    a path (`./x`, `/x/y`, `~/x`)."""
    return source.count("/") == 1 and not source.startswith((".", "/", "~"))


def saved_pipeline_source(source: str) -> str:
    """The folder or Hub id to load: the bundled model's folder for its name (with the notice
    of which model is used), else `source` when it is a folder or looks like a Hub id.

    Raises:
        A2SBInputError: `source` is neither an existing folder nor `owner/name`.
    """
    if source == BUNDLED_MODEL_NAME:
        folder = bundled_model_folder()
        notice_once(logger.name, bundled_model_notice(folder))
        return str(folder)
    if not Path(source).exists() and not looks_like_hub_id(source):
        raise A2SBInputError(
            f"{source} is neither a local folder nor a Hub repository id (owner/name); "
            f"check the path, or give {BUNDLED_MODEL_NAME} for the bundled model"
        )
    return source


def hub_load_error(source: str, error: OSError) -> A2SBInputError:
    """The one-line refusal of a Hub id that could not be loaded (no network, no such
    repository, no pipeline in it)."""
    reason = first_line(error)
    return A2SBInputError(
        f"cannot load {source} from the Hugging Face Hub ({reason}); check the "
        "repository id and your network, or pass a local folder (a saved pipeline with "
        "model_index.json, or the release's ckpt/ files)"
    )
