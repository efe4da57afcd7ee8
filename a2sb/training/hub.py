"""Upload of a trained pipeline to the Hugging Face Hub.

The saved folder is uploaded as it is, so that its model card (data, steps, time range,
licence) is the one the Hub shows; `DiffusionPipeline.push_to_hub` would replace the card with
a generic one.
"""

from __future__ import annotations

import logging
from pathlib import Path

from huggingface_hub import create_repo, get_token, upload_folder

from a2sb.errors import A2SBInputError
from a2sb.training.config import HubConfig

logger = logging.getLogger(__name__)


def check_hub_access(config: HubConfig) -> None:
    """Refuse, before training starts, to push to the Hub without a token."""
    if config.push_to_hub and get_token() is None:
        raise A2SBInputError(
            "hub.push_to_hub needs a Hugging Face token: run `hf auth login` or set HF_TOKEN, "
            "or set hub.push_to_hub=false (the pipeline is saved in OUTPUT_DIR/pipeline either "
            "way)"
        )


def upload_pipeline(folder: Path, config: HubConfig, step: int) -> str:
    """Create the repository `config.hub_model_id` if needed and upload `folder` to it.

    Returns:
        The URL of the commit.

    Raises:
        A2SBInputError: the Hub cannot be reached or refuses the upload (the folder stays).
    """
    try:
        repo_id = create_repo(config.hub_model_id, private=config.private, exist_ok=True).repo_id
        commit = upload_folder(
            repo_id=repo_id,
            folder_path=folder,
            commit_message=f"A2SB pipeline after {step} training steps",
        )
    # Transport errors are requests', httpx' or httpx2's, by huggingface_hub version.
    except Exception as error:
        raise A2SBInputError(
            f"could not push {folder} to the Hub repository {config.hub_model_id} ({error}); "
            f"the pipeline is saved in {folder}: upload it later with "
            f"`hf upload {config.hub_model_id} {folder}`"
        ) from error
    logger.info("pushed %s to %s", folder, commit.commit_url)
    return commit.commit_url
