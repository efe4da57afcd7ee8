"""a2sb-small: the small A2SB model that ships inside the package, the default model.

`A2SBPipeline.from_pretrained()` with no argument and `a2sb restore` without `--model` load it
from the installed package (`importlib.resources`), so restoration works offline. It was
trained here on a CPU (recipe: `recipes/a2sb_small/`, model card: `README.md` beside the
weights); NVIDIA's released model gives the published quality.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from a2sb.errors import A2SBInputError
from a2sb.official.release_layout import OFFICIAL_REPO_ID

BUNDLED_MODEL_NAME = "a2sb-small"

BUNDLED_MODEL_NOTICE = (
    f"Using {BUNDLED_MODEL_NAME}, the small model bundled with a2sb: trained on a CPU on free "
    "game music, far below the published quality (model card: {model_card}). For the "
    f"published quality use --model {OFFICIAL_REPO_ID} (NVIDIA's released A2SB, "
    "non-commercial licence)."
)


def bundled_model_folder() -> Path:
    """The folder of the bundled pipeline (`model_index.json`, `unet/`, `scheduler/`)."""
    folder = files("a2sb").joinpath("bundled", BUNDLED_MODEL_NAME)
    if not (isinstance(folder, Path) and (folder / "model_index.json").is_file()):
        raise A2SBInputError(
            f"the bundled model {BUNDLED_MODEL_NAME} is missing from this installation of a2sb "
            f"(looked in {folder}); reinstall a2sb, or pass a model (e.g. {OFFICIAL_REPO_ID})"
        )
    return folder


def bundled_model_notice(folder: Path) -> str:
    """Which model is used and where the published quality is, naming the model card."""
    return BUNDLED_MODEL_NOTICE.format(model_card=folder / "README.md")
