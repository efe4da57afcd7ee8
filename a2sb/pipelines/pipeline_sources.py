"""Where `A2SBPipeline.from_pretrained` loads a saved pipeline from: the bundled model's name, a
local folder, or a Hub repository id. (The release goes to `from_official_checkpoints`.)"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from diffusers import ModelMixin, SchedulerMixin

from a2sb import models
from a2sb.errors import A2SBInputError, first_line
from a2sb.notices import notice_once
from a2sb.pipelines.bundled_model import (
    BUNDLED_MODEL_NAME,
    bundled_model_folder,
    bundled_model_notice,
)
from a2sb.schedulers.registry import scheduler_classes

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


COMPONENT_KINDS: dict[str, tuple[list[object], type]] = {
    "unet": ([getattr(models, name) for name in models.__all__], ModelMixin),
    "scheduler": (scheduler_classes(), SchedulerMixin),
}
"""For each component of a saved pipeline: the a2sb classes `model_index.json` may name for it
(what `a2sb.models` exports; the schedulers of the registered samplers), and the diffusers base
class every class named for it must have."""
PICKLED_WEIGHTS = ("*.bin", "*.pt", "*.pth", "*.ckpt")


def check_saved_folder(folder: Path, trust_checkpoint: bool = False) -> None:
    """Refuse a local saved pipeline that would not load, or would run code, before diffusers
    reads it: `model_index.json` must be a JSON object naming an a2sb class for each component,
    and the network's weights must be safetensors (pickles can run code when loaded; they are
    read only with `trust_checkpoint`).

    Raises:
        A2SBInputError: one line naming the file, what is wrong with it and the fix.
    """
    index = folder / "model_index.json"
    if not index.is_file():
        return  # diffusers says what is missing
    try:
        entries = json.loads(index.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise A2SBInputError(
            f"{index} is not valid JSON ({first_line(error)}); download the model again, or "
            "save the pipeline again with save_pretrained"
        ) from error
    if not isinstance(entries, dict):
        raise A2SBInputError(
            f"{index} holds a {type(entries).__name__}, not the JSON object of a saved pipeline; "
            "download the model again, or save the pipeline again with save_pretrained"
        )
    for component, (offered, base) in COMPONENT_KINDS.items():
        _check_component_entry(index, component, offered, base, entries.get(component))
    _check_weights(folder / "unet", trust_checkpoint)


def _check_component_entry(
    index: Path, component: str, offered: list[object], base: type, entry: object
) -> None:
    """Refuse an entry that is not `[module, class]` naming a `base` class among `offered`, or
    of a module already imported (a researcher's own network, imported before loading). Nothing
    named is imported to find out."""
    allowed = sorted(cls.__name__ for cls in offered if _is_subclass(cls, base))
    if not (
        isinstance(entry, list) and len(entry) == 2 and all(isinstance(part, str) for part in entry)
    ):
        raise A2SBInputError(
            f"{index} gives {json.dumps(entry)} for the {component}, not [module, class]; fix "
            "the file, or save the pipeline again with save_pretrained"
        )
    module_name, class_name = entry
    if module_name == "a2sb" or module_name.startswith("a2sb."):
        if class_name in allowed:
            return
    elif _is_subclass(getattr(sys.modules.get(module_name), class_name, None), base):
        return
    raise A2SBInputError(
        f"{index} names {json.dumps(entry)} for the {component}, which is neither an a2sb class "
        f"(one of {', '.join(allowed)}) nor one of a module imported before loading; fix the "
        "file, or import the module that defines the class first"
    )


def _is_subclass(cls: object, base: type) -> bool:
    """Whether `cls` is a class and a subclass of `base`."""
    return isinstance(cls, type) and issubclass(cls, base)


def _check_weights(unet_folder: Path, trust_checkpoint: bool) -> None:
    if not unet_folder.is_dir() or any(unet_folder.glob("*.safetensors")):
        return
    pickles = sorted(path.name for pattern in PICKLED_WEIGHTS for path in unet_folder.glob(pattern))
    if not pickles:
        raise A2SBInputError(
            f"{unet_folder} holds no weights (no .safetensors file); download the model "
            "again, or save the pipeline again with save_pretrained"
        )
    if not trust_checkpoint:
        raise A2SBInputError(
            f"{unet_folder} holds its weights as a pickle ({', '.join(pickles)}), which can run "
            "code when loaded; convert them to safetensors, or, if you trust the file, pass "
            "trust_checkpoint=True (--trust-checkpoint)"
        )
