"""Writing results under faults: a full disk, a read-only folder, a forbidden folder, a path
too long, an interruption, in `save_audio`, the atomic writers and `A2SBPipeline.restore_file`.
Each ends with one message naming the file, the cause and the fix, and leaves neither a partial
file nor half a result under the final name."""

import errno
import os

import numpy as np
import pytest
from fakes import RecordingUNet
from faults import fail_fsync_with, no_space_message, tmpfs
from synth import synth_music

from a2sb.errors import A2SBWriteError
from a2sb.io import atomic_output
from a2sb.io.atomic_output import (
    check_writable,
    folder_written_atomically,
    partial_path,
    remove_quietly,
    write_bytes_atomically,
)
from a2sb.io.audio import save_audio
from a2sb.pipelines import A2SBPipeline
from a2sb.schedulers import I2SBScheduler

ONE_SECOND_STEREO = synth_music(44100, channels=2)
"""264 kB as 24-bit wav: more than a 64 kB tmpfs holds."""


def test_partial_names_are_hidden_and_keep_the_extension(tmp_path):
    assert partial_path(tmp_path / "song.a2sb.wav") == tmp_path / ".song.a2sb.partial.wav"
    assert partial_path(tmp_path / "step-00000100") == tmp_path / ".step-00000100.partial"


def test_a_full_disk_names_the_file_and_leaves_nothing(tmp_path):
    with tmpfs(tmp_path / "small", size="64k") as folder:
        path = folder / "song.wav"
        with pytest.raises(A2SBWriteError) as raised:
            save_audio(path, ONE_SECOND_STEREO, 44100, bit_depth="24")
        assert str(raised.value) == no_space_message(path)
        assert raised.value.__cause__.errno == errno.ENOSPC
        assert os.listdir(folder) == []


def test_an_injected_no_space_error_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "song.wav"
    path.write_bytes(b"the previous result")
    monkeypatch.setattr(atomic_output.os, "fsync", fail_fsync_with(errno.ENOSPC))
    with pytest.raises(A2SBWriteError, match="no space left on the device"):
        save_audio(path, ONE_SECOND_STEREO, 44100)
    assert path.read_bytes() == b"the previous result"
    assert os.listdir(tmp_path) == ["song.wav"]


def test_a_read_only_file_system_is_one_message_and_the_clean_up_does_not_raise(tmp_path):
    with tmpfs(tmp_path / "read-only", read_only=True) as folder:
        path = folder / "song.wav"
        with pytest.raises(A2SBWriteError) as raised:
            save_audio(path, ONE_SECOND_STEREO, 44100)
        assert str(raised.value) == (
            f"cannot write {path}: the file system is read-only; write to another folder"
        )
        with pytest.raises(OSError) as unlinking:
            partial_path(path).unlink(missing_ok=True)  # what the clean-up used to do
        assert unlinking.value.errno == errno.EROFS
        remove_quietly(partial_path(path))


def test_an_injected_read_only_error_in_write_and_clean_up_is_one_message(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(atomic_output.os, "fsync", refuse)
    monkeypatch.setattr(atomic_output.Path, "unlink", refuse)
    with pytest.raises(A2SBWriteError, match="the file system is read-only; write to another"):
        write_bytes_atomically(tmp_path / "results.json", b"{}")


def test_permission_denied_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic_output.os, "fsync", fail_fsync_with(errno.EACCES))
    with pytest.raises(A2SBWriteError) as raised:
        write_bytes_atomically(tmp_path / "results.json", b"{}")
    assert str(raised.value) == (
        f"cannot write {tmp_path / 'results.json'}: permission denied; write to a folder you "
        "may write to, or change the folder's permissions"
    )
    assert os.listdir(tmp_path) == []


def test_a_name_too_long_for_the_file_system(tmp_path):
    path = tmp_path / f"{'x' * 300}.wav"
    with pytest.raises(A2SBWriteError, match="the path is too long for the file system; use a"):
        save_audio(path, ONE_SECOND_STEREO, 44100)


def test_an_interruption_while_writing_removes_the_partial_file(tmp_path, monkeypatch):
    def interrupt(descriptor: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic_output.os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        save_audio(tmp_path / "song.wav", ONE_SECOND_STEREO, 44100)
    assert os.listdir(tmp_path) == []


def test_check_writable_fails_before_any_work_and_leaves_nothing(tmp_path):
    check_writable(tmp_path / "new" / "song.wav")
    assert os.listdir(tmp_path / "new") == []
    with tmpfs(tmp_path / "read-only", read_only=True) as folder:
        with pytest.raises(A2SBWriteError, match="read-only"):
            check_writable(folder / "song.wav")


def test_a_folder_replaces_the_earlier_one_only_once_complete(tmp_path):
    folder = tmp_path / "step-00000002"
    folder.mkdir()
    (folder / "old").write_text("earlier")
    with pytest.raises(A2SBWriteError, match=r"no space left on the device; .* \(note\)$"):
        with folder_written_atomically(folder, failure_note=" (note)") as partial:
            partial.mkdir()
            (partial / "new").write_text("half")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert sorted(os.listdir(tmp_path)) == ["step-00000002"]
    assert os.listdir(folder) == ["old"]

    with folder_written_atomically(folder) as partial:
        partial.mkdir()
        (partial / "new").write_text("complete")
    assert os.listdir(folder) == ["new"]
    assert sorted(os.listdir(tmp_path)) == ["step-00000002"]


def test_a_saver_error_without_errno_on_a_full_device_is_called_a_full_disk(tmp_path):
    with tmpfs(tmp_path / "small", size="64k") as folder:
        (folder / "filler").write_bytes(np.zeros(64 * 1024 - 4096, np.uint8).tobytes())
        with pytest.raises(A2SBWriteError, match=r"no space left on the device \(\d+ KiB free\)"):
            with folder_written_atomically(folder / "step", (RuntimeError,)) as partial:
                partial.mkdir()
                raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos")
        assert os.listdir(folder) == ["filler"]


def restoring_pipeline() -> tuple[A2SBPipeline, RecordingUNet]:
    unet = RecordingUNet()
    pipeline = A2SBPipeline(unet, I2SBScheduler())
    pipeline.set_progress_bar_config(disable=True)
    return pipeline, unet


RESTORE = {"cutoff_hz": 4000, "num_inference_steps": 2, "window_frames": 32, "hop_frames": 16}


def test_restore_file_into_a_read_only_folder_fails_before_restoring(tmp_path):
    source = tmp_path / "song.wav"
    save_audio(source, ONE_SECOND_STEREO, 44100)
    pipeline, unet = restoring_pipeline()
    with tmpfs(tmp_path / "read-only", read_only=True) as folder:
        with pytest.raises(A2SBWriteError, match="the file system is read-only"):
            pipeline.restore_file(source, folder / "song.a2sb.wav", **RESTORE)
    assert unet.calls == []


def test_restore_file_on_a_full_disk_leaves_neither_result_nor_partial(tmp_path, monkeypatch):
    source = tmp_path / "song.wav"
    save_audio(source, ONE_SECOND_STEREO, 44100)
    pipeline, unet = restoring_pipeline()
    monkeypatch.setattr(atomic_output.os, "fsync", fail_fsync_with(errno.ENOSPC))
    with pytest.raises(A2SBWriteError, match="song.a2sb.wav: no space left on the device"):
        pipeline.restore_file(source, tmp_path / "song.a2sb.wav", **RESTORE)
    assert unet.calls  # it restored, then could not write
    assert os.listdir(tmp_path) == ["song.wav"]
