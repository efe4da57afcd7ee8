"""Take the screenshot of docs/app.md: `python docs/make_app_screenshot.py` writes
docs/figures/app.png.

It starts `a2sb app` (the bundled a2sb-small, on the CPU) in this process, restores a 4-second
excerpt of examples/snowy_8khz.flac through the page in Debian's Chromium (Playwright), and
photographs the page; a minute or two on a CPU.
"""

from __future__ import annotations

import io
import shutil
import socket
import tempfile
from pathlib import Path

import soundfile
from PIL import Image
from playwright.sync_api import sync_playwright

from a2sb.cli import build_parser
from a2sb.cli.web_app import build_app, launch_options

DOCS = Path(__file__).resolve().parent
EXAMPLE = DOCS.parent / "examples" / "snowy_8khz.flac"
EXCERPT_S = (2.0, 6.0)


def excerpt(folder: Path) -> Path:
    """The excerpt of the example, as flac, named like the example."""
    audio, rate = soundfile.read(EXAMPLE, always_2d=True)
    start, end = (round(seconds * rate) for seconds in EXCERPT_S)
    path = folder / EXAMPLE.name
    soundfile.write(path, audio[start:end], rate)
    return path


def main() -> None:
    folder = Path(tempfile.mkdtemp())
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = build_parser().parse_args(["app", "--port", str(port), "--device", "cpu"])
    page_app, work_dir = build_app(args)
    page_app.launch(**launch_options(args, work_dir), prevent_thread_lock=True, quiet=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.goto(f"http://127.0.0.1:{port}")
            page.locator("#a2sb-input input[type=file]").set_input_files(str(excerpt(folder)))
            page.locator("#a2sb-seed input, #a2sb-seed textarea").first.fill("1")
            page.locator("#a2sb-restore").click()
            page.locator("#a2sb-status").get_by_text("Restored with").wait_for(timeout=600_000)
            page.wait_for_timeout(1500)  # the players draw their waveforms
            png = page.screenshot(full_page=True)
            browser.close()
    finally:
        page_app.close()
        shutil.rmtree(work_dir, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
    picture = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256)
    picture.save(DOCS / "figures" / "app.png", optimize=True)


if __name__ == "__main__":
    main()
