import sys
import types

import numpy as np
import pytest
from synth import synth_music

from a2sb.errors import A2SBInputError
from a2sb.evaluation import Condition, evaluate, format_table, summarize
from a2sb.evaluation.visqol import visqol_api, visqol_moslqo
from a2sb.io.audio import save_audio

RATE = 44100


@pytest.fixture
def fake_visqol(monkeypatch):
    """A stand-in `visqol` module that records what it is asked and scores 5 − |mean error|."""
    calls = []

    class VisqolApi:
        def create(self, mode):
            assert mode == "audio"

        def measure_from_arrays(self, reference, degraded, sample_rate):
            calls.append((reference.shape, sample_rate))
            return types.SimpleNamespace(moslqo=5 - np.abs(reference - degraded).mean())

    monkeypatch.setitem(sys.modules, "visqol", types.SimpleNamespace(VisqolApi=VisqolApi))
    visqol_api.cache_clear()
    yield calls
    visqol_api.cache_clear()


def test_missing_package_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "visqol", None)
    visqol_api.cache_clear()
    with pytest.raises(A2SBInputError, match="pip install visqol-python"):
        visqol_moslqo(np.zeros((1, RATE)), np.zeros((1, RATE)), RATE)
    visqol_api.cache_clear()


def test_each_channel_is_scored_at_48_khz_and_averaged(fake_visqol):
    stereo = synth_music(RATE, channels=2)
    assert visqol_moslqo(stereo, stereo, RATE) == pytest.approx(5.0)
    assert fake_visqol == [((48000,), 48000), ((48000,), 48000)]


def test_harness_records_visqol_and_the_table_shows_it(fake_visqol, tmp_path):
    save_audio(tmp_path / "music" / "a.wav", synth_music(3 * RATE), RATE)
    condition = Condition("bandwidth_extension", cutoff_hz=4000)

    def identity(degraded, sampling_rate, task_info):
        return degraded

    results = evaluate(
        identity, "identity", tmp_path / "music", [condition], tmp_path / "r.json", visqol=True
    )
    assert 4 < results[0].visqol < 5
    table = format_table({"identity": summarize(results, [condition])})
    assert "| ViSQOL ↑ |" in table.splitlines()[0]
