"""The one audio-file search that restoring, evaluation and training share."""

from a2sb.io.audio_files import audio_files_in, file_suffixes


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def test_audio_files_are_found_in_subfolders_sorted_whatever_the_case(tmp_path):
    expected = [
        touch(tmp_path / "a" / "z.FLAC"),
        touch(tmp_path / "b.mp3"),
        touch(tmp_path / "c" / "d" / "e.wav"),
    ]
    touch(tmp_path / "notes.txt")
    (tmp_path / "folder.wav").mkdir()  # a folder named like a file is not a file

    assert audio_files_in(tmp_path) == expected


def test_hidden_files_and_folders_are_not_searched(tmp_path):
    kept = touch(tmp_path / "song.wav")
    touch(tmp_path / "._song.wav")
    touch(tmp_path / ".sync" / "song.wav")

    assert audio_files_in(tmp_path) == [kept]
    assert audio_files_in(tmp_path / ".sync") == [tmp_path / ".sync" / "song.wav"]


def test_extensions_are_chosen_with_or_without_the_dot(tmp_path):
    flac = touch(tmp_path / "a.flac")
    touch(tmp_path / "b.wav")

    assert audio_files_in(tmp_path, ["FLAC"]) == [flac]
    assert audio_files_in(tmp_path, [".flac"]) == [flac]
    assert file_suffixes(["WAV", ".flac"]) == {".wav", ".flac"}
    assert audio_files_in(tmp_path / "nothing") == []
