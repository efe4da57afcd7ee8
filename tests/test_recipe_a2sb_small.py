"""The a2sb-small recipe: its data script never fetches evaluation music, and it reads licences
and music files the way the packages lay them out."""

import fnmatch
import importlib.util
import json
import sys
import zipfile
from pathlib import Path

import pytest

from a2sb.training.config import load_training_config

RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "a2sb_small"

RESERVED_FOR_EVALUATION = (
    "wesnoth-1.16-music",
    "wesnoth-1.18-music",
    "wesnoth-music",
    "hedgewars-data",
    "supertuxkart-data",
    "nexuiz-music",
)
"""The packages of shared/data/devset (shared/data/README.md): never training data."""


def load_fetch_script():
    spec = importlib.util.spec_from_file_location(
        "fetch_training_music", RECIPE / "fetch_training_music.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_no_evaluation_package_is_fetched_for_training():
    fetch = load_fetch_script()
    names = [package.name for package in fetch.TRAINING_PACKAGES]
    for name in names:
        assert not any(fnmatch.fnmatchcase(name, reserved) for reserved in RESERVED_FOR_EVALUATION)
        assert "wesnoth" not in name
    assert names == [
        "0ad-data",
        "ufoai-music",
        "freedroidrpg-data",
        "drascula-music",
        "singularity-music",
        "warzone2100-music",
    ]


@pytest.mark.parametrize("name", RESERVED_FOR_EVALUATION)
def test_the_script_refuses_evaluation_packages(name, tmp_path):
    fetch = load_fetch_script()
    with pytest.raises(SystemExit, match="reserved for evaluation"):
        fetch.download(fetch.MusicPackage(name, "*.ogg"), tmp_path)


COPYRIGHT = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/

Files: *
Copyright: 2002-2014, The Team
License: GPL-2+

Files: debian/*
Copyright: 2013 Packager
License: GPL-2+

Files:
 base/music/David01.ogg
 base/music/van_*.ogg
Copyright:
 David
License: CC-BY-3.0
 The licence text.
"""


def test_licences_follow_the_last_matching_copyright_stanza():
    fetch = load_fetch_script()
    stanzas = fetch.read_copyright(COPYRIGHT)
    assert [stanza.licence for stanza in stanzas] == ["GPL-2+", "GPL-2+", "CC-BY-3.0"]
    assert fetch.licence_of(stanzas, "music/David01.ogg", "") == "CC-BY-3.0"
    assert fetch.licence_of(stanzas, "music/van_theme.ogg", "") == "CC-BY-3.0"
    assert fetch.licence_of(stanzas, "music/Other.ogg", "") == "GPL-2+"
    assert fetch.licence_of(stanzas, "sound/David01.ogg", "") == "GPL-2+"


def test_a_copyright_file_that_is_not_machine_readable_uses_the_stated_licence():
    fetch = load_fetch_script()
    stanzas = fetch.read_copyright("This package is under the CC licence below.\n\nTHE WORK …")
    assert stanzas == []
    assert fetch.licence_of(stanzas, "music/a.ogg", "CC-BY-SA-3.0") == "CC-BY-SA-3.0"
    with pytest.raises(SystemExit, match="no licence found"):
        fetch.licence_of(stanzas, "music/a.ogg", "")


def test_music_is_picked_from_folders_and_from_zip_archives(tmp_path):
    fetch = load_fetch_script()
    extracted = tmp_path / "extracted"
    (extracted / "usr/music/lose").mkdir(parents=True)
    for name in ("usr/music/a.ogg", "usr/music/lose/b.ogg", "usr/sounds.ogg"):
        (extracted / name).write_bytes(b"x")
    with zipfile.ZipFile(extracted / "data.zip", "w") as archive:
        archive.writestr("audio/music/c.ogg", b"y")
        archive.writestr("audio/sfx/d.ogg", b"z")

    in_folders = fetch.collect_music(
        fetch.MusicPackage("p", "usr/music/*.ogg"), extracted, tmp_path / "music-p"
    )
    in_archive = fetch.collect_music(
        fetch.MusicPackage("q", "audio/music/*.ogg", archive="data.zip"),
        extracted,
        tmp_path / "music-q",
    )

    assert [path.relative_to(tmp_path).as_posix() for path in in_folders] == [
        "music-p/usr/music/a.ogg",
        "music-p/usr/music/lose/b.ogg",
    ]
    assert [path.relative_to(tmp_path).as_posix() for path in in_archive] == [
        "music-q/audio/music/c.ogg"
    ]
    assert in_archive[0].read_bytes() == b"y"


def test_the_training_recipe_is_a_valid_config_that_masks_the_loss_above_the_bandwidth():
    config = load_training_config(RECIPE / "train.yaml", ["data.manifest=manifest.csv"])
    assert config.data.bandwidth_loss_mask
    assert config.bridge.t_range == (0.0, 1.0)
    assert config.data.segment_samples // config.representation.hop_length + 1 == 128


def absolute_paths(value) -> list[str]:
    """The strings in a JSON value that are absolute paths (POSIX, home or Windows)."""
    if isinstance(value, dict):
        return [path for item in value.values() for path in absolute_paths(item)]
    if isinstance(value, list):
        return [path for item in value for path in absolute_paths(item)]
    if isinstance(value, str) and (value.startswith(("/", "~", "\\\\")) or value[1:3] == ":\\"):
        return [value]
    return []


def test_no_shipped_json_holds_an_absolute_path():
    package = RECIPE.parents[1] / "a2sb"
    shipped = sorted(package.rglob("*.json"))
    assert shipped, "the bundled model's configs are missing"
    for path in shipped:
        found = absolute_paths(json.loads(path.read_text()))
        assert not found, f"{path.relative_to(package)} holds the machine path {found}"


def test_packaging_strips_where_the_pipeline_was_loaded_from(tmp_path):
    spec = importlib.util.spec_from_file_location("package_weights", RECIPE / "package_weights.py")
    package_weights = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(package_weights)
    config = tmp_path / "unet" / "config.json"
    config.parent.mkdir()
    config.write_text(json.dumps({"_name_or_path": "/runs/a2sb/pipeline/unet", "sample": 1}))

    package_weights.strip_loaded_from(tmp_path)

    assert json.loads(config.read_text()) == {"sample": 1}
    assert absolute_paths({"a": ["C:\\runs"], "b": "~/x", "c": "unet"}) == ["C:\\runs", "~/x"]
