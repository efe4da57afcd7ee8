"""NVIDIA's released A2SB checkpoints: their key map, safe reading, layout and conversion.

Layering: this package sits between `a2sb.models` and `a2sb.pipelines`. It builds models
(`RoPEUNet2DModel`, `A2SBPartitionedModel`) from release files and knows where those files and
their cached conversions live, but it builds no pipeline: `A2SBPipeline.from_official_checkpoints`
(and `from_pretrained`, which recognises the release and delegates to it) pairs the converted
network with its scheduler and caches the pipeline (`a2sb.pipelines.converted_checkpoints`).
So imports point one way, models → official → pipelines → cli, the models know nothing of the
release, and no module here imports a pipeline (the cycle pipeline → release → pipeline that
building a pipeline here would make).

Modules, one idea each:
- `key_map`: official parameter names ⇄ ours;
- `checkpoint_file`: reading a pickle safely (`weights_only`, the explicit trust flag);
- `release_layout`: the Hub id, the variants' files, the t-ranges in the file names;
- `release_files`: downloading or finding those files, and the conversion cache's folders;
- `conversion`: state dicts → models, checked key by key.
"""

from a2sb.official.checkpoint_file import (
    check_checkpoint_exists,
    checkpoint_paths,
    load_official_checkpoint,
)
from a2sb.official.conversion import (
    convert_official_checkpoints,
    convert_official_state_dict,
    infer_config,
)
from a2sb.official.key_map import official_key_map, to_official_state_dict
from a2sb.official.release_files import (
    checkpoint_files_cache_folder,
    default_conversion_cache,
    release_cache_folder,
    release_checkpoint_files,
)
from a2sb.official.release_layout import (
    LICENCE_NOTICE,
    OFFICIAL_REPO_ID,
    RELEASE_FILES,
    ReleaseVariant,
    is_release_source,
    order_partitions_by_name,
    t_range_from_name,
)

__all__ = [
    "LICENCE_NOTICE",
    "OFFICIAL_REPO_ID",
    "RELEASE_FILES",
    "ReleaseVariant",
    "check_checkpoint_exists",
    "checkpoint_files_cache_folder",
    "checkpoint_paths",
    "convert_official_checkpoints",
    "convert_official_state_dict",
    "default_conversion_cache",
    "infer_config",
    "is_release_source",
    "load_official_checkpoint",
    "official_key_map",
    "order_partitions_by_name",
    "release_cache_folder",
    "release_checkpoint_files",
    "t_range_from_name",
    "to_official_state_dict",
]
