"""`a2sb app`: the page in a real browser (Playwright driving Debian's Chromium), its HTTP API,
and what it refuses to load or serve.

The app runs in this process on a free local port with two tiny saved pipelines: "instant"
(a stand-in network, so the model's default 49 steps take no time) and "micro" (a real
RoPEUNet2DModel). Chromium is Debian's (`apt-get install chromium`); without it the browser
tests are skipped, except in CI (`CI=true`), where they fail.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import soundfile
from fakes import RecordingUNet, micro_unet
from gradio_client import Client, handle_file
from playwright.sync_api import expect, sync_playwright
from synth import synth_music, write_band_limited

from a2sb.cli import build_parser, main
from a2sb.cli.console import Console
from a2sb.cli.page_restoration import MEGABYTE, PageRequest, PageRestorer
from a2sb.cli.restore_settings import settings_from_args
from a2sb.cli.web_app import build_app, launch_options
from a2sb.errors import A2SBInputError
from a2sb.pipelines import A2SBPipeline
from a2sb.schedulers import I2SBScheduler

CHROMIUM = Path("/usr/bin/chromium")
RATE = 44100


def write_music(path: Path, seconds: float = 0.5) -> Path:
    """Music brick-walled at 4 kHz, so that `cutoff auto` finds a cutoff."""
    return write_band_limited(path, seconds, RATE, seed=2)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("app-files")
    A2SBPipeline(RecordingUNet(), I2SBScheduler()).save_pretrained(folder / "instant")
    micro_defaults = {"num_inference_steps": 3, "window_schedule": "shifted"}
    A2SBPipeline(micro_unet(), I2SBScheduler(), sampling_defaults=micro_defaults).save_pretrained(
        folder / "micro"
    )
    broken = folder / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00not audio at all")
    return {
        "instant": folder / "instant",
        "micro": folder / "micro",
        "clip": write_music(folder / "clip.wav"),
        "broken": broken,
    }


def app_args(files: dict[str, Path], *options: str):
    models = ["--model", str(files["instant"]), "--model", str(files["micro"])]
    return build_parser().parse_args(["app", *models, *options])


@pytest.fixture(scope="module")
def app(files):
    """The running app: `(url, its temporary folder)`."""
    temp_dir_before = os.environ.get("GRADIO_TEMP_DIR")
    port = free_port()
    args = app_args(files, "--port", str(port), "--max-file-mb", "0.2")
    page, work_dir = build_app(args)
    page.launch(**launch_options(args, work_dir), prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}", work_dir
    page.close()
    shutil.rmtree(work_dir, ignore_errors=True)
    if temp_dir_before is None:
        os.environ.pop("GRADIO_TEMP_DIR", None)
    else:
        os.environ["GRADIO_TEMP_DIR"] = temp_dir_before


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        reason = f"no Chromium at {CHROMIUM}; install it with: apt-get install chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs the browser test: {reason}")
        pytest.skip(reason)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser, app):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    expect.set_options(timeout=30_000)  # a loaded machine answers in seconds, not the default 5
    page.goto(app[0])
    yield page
    context.close()


def upload(page, path: Path) -> None:
    page.locator("#a2sb-input input[type=file]").set_input_files(str(path))


def test_the_steps_slider_starts_at_the_chosen_models_own_default(page, files):
    page.get_by_label("custom steps").check()
    slider = page.locator("#a2sb-steps input[type=number]")
    expect(slider).to_have_value("49")  # "instant": a pipeline saved without defaults
    page.locator("#a2sb-model input").fill(str(files["micro"]))
    page.keyboard.press("Enter")
    expect(slider).to_have_value("3")  # "micro" was saved with 3 steps


def test_page_restores_an_upload_and_shows_the_result_and_the_picture(page, files, tmp_path):
    upload(page, files["clip"])
    page.locator("#a2sb-cutoff textarea, #a2sb-cutoff input").first.fill("4k")
    page.get_by_label("custom steps").check()
    page.locator("#a2sb-steps input[type=number]").fill("12")
    page.locator("#a2sb-model input").fill(str(files["micro"]))
    page.keyboard.press("Enter")
    page.locator("#a2sb-restore").click()

    page.locator("#a2sb-result").get_by_text(
        re.compile(r"restoring \d\d:\d\d of audio")
    ).first.wait_for()

    page.locator("#a2sb-status").get_by_text("Restored with").wait_for()
    # the seed drawn for it (to reproduce it), and that the time is processing time
    expect(page.locator("#a2sb-status")).to_contain_text(re.compile(r"seed \d+; processing took"))
    result = page.locator("#a2sb-result")
    assert result.locator("a[download]").get_attribute("href").endswith("/clip.a2sb.wav")
    expect(result.locator("#duration")).not_to_have_text("0:00")  # the player decoded it
    picture = page.locator("#a2sb-picture img")
    picture.wait_for()
    width = picture.evaluate("img => img.complete ? img.naturalWidth : 0")
    assert width > 600  # the PNG arrived and decoded
    assert "cutoff 4000 Hz" in page.locator("#a2sb-status").inner_text()
    download = page.locator("#a2sb-file a").first
    assert download.get_attribute("href").endswith("clip.a2sb.wav")
    page.screenshot(path=str(tmp_path / "page.png"), full_page=True)


def test_page_shows_a_message_for_an_unreadable_file(page, files):
    upload(page, files["broken"])
    page.locator("#a2sb-restore").click()
    message = page.locator("#a2sb-status").get_by_text("cannot read broken.wav as audio")
    message.wait_for()
    assert "Traceback" not in page.content()
    assert str(files["broken"].parent) not in message.inner_text()  # no server path shown


def test_a_refusal_stays_on_the_page_in_its_words(page, files):
    """A toast vanishes after ~10 s; the status line keeps the refusal until the next run."""
    upload(page, files["clip"])
    page.locator("#a2sb-seed textarea, #a2sb-seed input").first.fill("lucky")
    page.locator("#a2sb-restore").click()
    status = page.locator("#a2sb-status")
    expect(status).to_contain_text("Cannot restore: Seed 'lucky' is not a whole number")
    page.wait_for_timeout(21_000)
    expect(status).to_contain_text("Seed 'lucky' is not a whole number")
    assert "argument --seed" not in status.inner_text()


def test_page_refuses_a_file_over_the_size_limit(page, tmp_path):
    upload(page, write_music(tmp_path / "big.wav", seconds=4.0))  # 0.34 MB
    refusal = page.get_by_text("exceed the maximum allowed size")
    refusal.wait_for()
    assert "204.8 Kb" in refusal.inner_text()  # the page's 0.2 MB: Gradio's unit is 2^20 too


def long_upload(tmp_path: Path) -> Path:
    """20 s at 8 kHz in 8 bits: 160 kB, within the app's 0.2 MB."""
    path = tmp_path / "long.wav"
    soundfile.write(path, synth_music(160_000, 8000, seed=3).T, 8000, subtype="PCM_U8")
    return path


def test_the_pages_progress_moves_during_a_restoration(page, files, tmp_path):
    upload(page, long_upload(tmp_path))
    page.get_by_label("custom steps").check()
    page.locator("#a2sb-steps input[type=number]").fill("8")
    page.locator("#a2sb-model input").fill(str(files["micro"]))
    page.keyboard.press("Enter")
    page.locator("#a2sb-restore").click()
    progress = page.locator("#a2sb-result").get_by_text(re.compile(r"restoring 00:20 of audio"))
    percents = set()
    while "Restored with" not in page.locator("#a2sb-status").inner_text(timeout=60_000):
        for text in progress.all_inner_texts():  # no waiting: the bar goes when the run ends
            percents.update(float(p) for p in re.findall(r"([\d.]+)%", text))
        page.wait_for_timeout(20)
    assert any(0 < percent < 100 for percent in percents), percents  # drawn while it moved


def test_progress_moves_in_seconds_of_audio_during_a_restoration(app, files, tmp_path):
    """The page's bar is tqdm's, tracked by Gradio: its fraction moves with the audio done."""
    client = Client(app[0], verbose=False, download_files=str(tmp_path))
    job = client.submit(
        handle_file(str(long_upload(tmp_path))),
        preset="custom steps",
        steps=8,
        model=str(files["micro"]),
        api_name="/restore",
    )
    seen = set()
    while not job.done():
        for unit in job.status().progress_data or []:
            seen.add((unit.desc, unit.index, unit.length))
        time.sleep(0.02)
    assert job.result()[3].startswith("Restored with")
    moving = {index for desc, index, length in seen if desc == "restoring 00:20 of audio"}
    assert any(0 < index < 20 for index in moving), seen  # it moved before the end


def test_api_restores_with_only_a_file(app, files, tmp_path):
    client = Client(app[0], verbose=False, download_files=str(tmp_path))
    result_audio, picture, download, message = client.predict(
        handle_file(str(files["clip"])), api_name="/restore"
    )
    restored, rate = soundfile.read(result_audio)
    assert rate == RATE and restored.shape == (RATE // 2,)
    assert Path(picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert Path(download).name == "clip.a2sb.wav"
    assert message.startswith(f"Restored with {files['instant']}, bandwidth extension: cutoff ")


def test_api_uses_another_started_model_as_flac_with_custom_steps(app, files, tmp_path):
    client = Client(app[0], verbose=False, download_files=str(tmp_path))
    _, _, download, message = client.predict(
        handle_file(str(files["clip"])),
        task="inpainting",
        gaps="0.1-0.2",
        preset="custom steps",
        steps=2,
        seed="17",
        model=str(files["micro"]),
        output_format="flac",
        api_name="/restore",
    )
    assert Path(download).suffix == ".flac"
    assert re.fullmatch(
        rf"Restored with {re.escape(str(files['micro']))}, inpainting 0\.1–0\.2 s: "
        r"(within the band up to \d+ Hz, )?seed 17; processing took \d+\.\d s\.",
        message,
    ), message


@pytest.mark.parametrize("model", ["/etc", "nvidia/audio_to_audio_schrodinger_bridge"])
def test_api_loads_no_model_it_was_not_started_with(app, files, model):
    client = Client(app[0], verbose=False)
    with pytest.raises(Exception, match="not in the list of choices|not one this app"):
        client.predict(handle_file(str(files["clip"])), model=model, api_name="/restore")


@pytest.mark.parametrize("target", ["/etc/passwd", "model", "test file"])
def test_no_file_outside_the_app_folder_is_served(app, files, target):
    path = {"/etc/passwd": "/etc/passwd", "model": files["micro"] / "model_index.json"}.get(
        target, Path(__file__).resolve()
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{app[0]}/gradio_api/file={path}", timeout=10)
    assert refused.value.code in (403, 404)


def test_the_app_says_when_it_listens_beyond_this_machine(files, capsys, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", os.environ.get("GRADIO_TEMP_DIR", "unset"))
    _, work_dir = build_app(app_args(files, "--host", "0.0.0.0"))
    shutil.rmtree(work_dir)
    (line,) = capsys.readouterr().err.splitlines()[-1:]
    assert line.startswith("a2sb: listening on 0.0.0.0, beyond this machine")
    assert build_parser().parse_args(["app"]).host == "127.0.0.1"


def test_without_gradio_the_app_names_the_extra_to_install(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "gradio", None)
    monkeypatch.delitem(sys.modules, "a2sb.cli.web_app")
    assert main(["app"]) == 2
    error = capsys.readouterr().err
    assert (
        error == 'a2sb: a2sb app needs gradio; install the app extra with pip install "a2sb[app]"\n'
    )


# The request → `a2sb restore` translation and the refusals, without a server.


@pytest.fixture
def restorer(files, tmp_path) -> PageRestorer:
    pipeline = A2SBPipeline.from_pretrained(str(files["instant"]))
    return PageRestorer(
        {"instant": pipeline}, tmp_path / "work", int(0.2 * MEGABYTE), Console(quiet=True)
    )


def test_request_becomes_the_restore_settings():
    clip = Path("clip.wav")
    settings = PageRequest(cutoff="8k").settings(clip)
    assert (settings.task, settings.cutoff_hz, settings.gaps) == ("bandwidth_extension", 8000, [])
    assert (settings.inputs, settings.output_format, settings.spectrogram) == (
        ["clip.wav"],
        "wav",
        True,
    )
    assert settings.num_inference_steps is None and settings.seed is None
    request = PageRequest("inpainting", gaps="1.5-2, 0:00.2 - 0:00.5", preset="custom steps",
                          steps=7, seed="3", output_format="flac")  # fmt: skip
    settings = request.settings(clip)
    assert (settings.task, settings.cutoff_hz) == ("inpainting", None)
    assert settings.gaps == [(0.2, 0.5), (1.5, 2.0)]
    assert (settings.num_inference_steps, settings.seed, settings.output_format) == (7, 3, "flac")


def test_the_page_restores_with_the_command_lines_defaults():
    """What the page does not set is what `a2sb restore FILE` does without options."""
    args = build_parser().parse_args(["restore", "clip.wav", "--cutoff", "auto"])
    command_line = settings_from_args(args)
    page = PageRequest().settings(Path("clip.wav"))
    for name in ("bit_depth", "clip_mode", "output_rate", "window_batch_size", "sampler", "eta",
                 "window_schedule", "window_frames", "hop_frames", "overwrite"):  # fmt: skip
        assert getattr(page, name) == getattr(command_line, name), name


def test_restorer_writes_the_result_and_the_picture_in_its_own_folder(restorer, files):
    stale = restorer.work_dir / "an-hour-old"
    stale.mkdir(parents=True)
    os.utime(stale, (0, time.time() - 3601))
    result = restorer.restore(str(files["clip"]), PageRequest(seed="1"), "instant")
    assert not stale.exists() and len(list(restorer.work_dir.iterdir())) == 1
    assert result.result_path.parent.parent == restorer.work_dir
    assert result.picture_path == result.result_path.with_suffix(".png")
    assert result.picture_path.read_bytes()[:4] == b"\x89PNG"
    assert "cutoff 4" in result.message


@pytest.mark.parametrize(
    ("upload", "request_", "message"),
    [
        (None, PageRequest(), "no audio yet; upload a file or record one"),
        ("broken", PageRequest(), "cannot read broken.wav as audio"),
        ("big", PageRequest(), "big.wav is 0.3 MB, above this app's limit of 0.2 MB"),
        (
            "clip",
            PageRequest("inpainting", gaps="0.2-3"),
            "lies outside the audio, which lasts 0.5",
        ),
        ("clip", PageRequest("inpainting", gaps="0.2"), "gap '0.2' is not START-END"),
        (
            "clip",
            PageRequest("inpainting"),
            "needs at least one gap; pass START-END stretches in the Gaps field",
        ),
        ("clip", PageRequest(cutoff="30k"), "cutoff 30000 Hz is outside (0, 22050) Hz"),
        ("clip", PageRequest(task="denoise"), "task 'denoise' is not offered"),
        ("clip", PageRequest(seed="lucky"), "Seed 'lucky' is not a whole number; type one"),
        ("clip", PageRequest(cutoff="-5"), "Cutoff '-5' is not a frequency"),
        ("clip", PageRequest(seed="-1"), "Seed -1 is below 0; give 0 or more"),
        ("clip", PageRequest(preset="custom steps", steps=0), "Steps 0 is below 1"),
    ],
)
def test_restorer_refuses_with_one_line(restorer, files, tmp_path, upload, request_, message):
    if upload == "big":
        files = {"big": write_music(tmp_path / "big.wav", seconds=4.0)}
    path = None if upload is None else str(files[upload])
    with pytest.raises(A2SBInputError) as refused:
        restorer.restore(path, request_, "instant")
    assert message in str(refused.value) and "\n" not in str(refused.value)
    assert "--cutoff" not in str(refused.value) and "--gap" not in str(refused.value)
    assert "argument --" not in str(refused.value)  # the page's words, not option syntax
    assert str(restorer.work_dir) not in str(refused.value)
    assert not restorer.work_dir.exists() or not list(restorer.work_dir.iterdir())


def test_a_busy_port_is_one_line_before_any_model_loads(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["app", "--port", str(port), "--model", "no/such-model"]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"a2sb: cannot listen on 127.0.0.1:{port} (") and error.count("\n") == 1
    assert f"pass another --port (e.g. --port {port + 1})" in error


def test_the_command_says_where_the_page_is_in_one_line(tmp_path):
    port = free_port()
    command = [sys.executable, "-m", "a2sb", "app", "--port", str(port), "--dtype", "fp32"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        while not any("a2sb app: the page is at" in line for line in lines):
            line = process.stdout.readline()
            assert line, "".join(lines)  # the command ended before serving
            lines.append(line)
        assert lines[-1] == f"a2sb app: the page is at http://127.0.0.1:{port}/ (Ctrl-C stops it)\n"
        assert not any("share=True" in line for line in lines)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
