"""The page of `a2sb app`: a Gradio Blocks app around `PageRestorer`.

Its restore function is the named endpoint `/restore` (`api_name="restore"`): the first
parameter is the audio file's path and every other has a default, so that
`gradio_client.Client(url).predict(handle_file("song.wav"), api_name="/restore")` restores a
file with the first model. Requests are queued; each model restores one file at a time.
Mistakes and failures reach the page as one message (`gr.Error`), never as a traceback.

Gradio keeps uploads and results in the app's own temporary folder (`GRADIO_TEMP_DIR`), and
serves files from there only.
"""

from __future__ import annotations

import argparse
import errno
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from a2sb.cli.console import Console
from a2sb.cli.devices import process_device, resolve_device_kind
from a2sb.cli.inputs import OUTPUT_FORMATS
from a2sb.cli.model_choice import ModelChoice, check_model_source, load_pipeline
from a2sb.cli.option_values import DEFAULT_HOST
from a2sb.cli.page_restoration import (
    CUSTOM_STEPS,
    MEGABYTE,
    MODEL_DEFAULT,
    PRESETS,
    TASKS,
    PageRequest,
    PageRestorer,
)
from a2sb.errors import A2SBInputError
from a2sb.pipelines import A2SBPipeline
from a2sb.pipelines.bundled_model import BUNDLED_MODEL_NAME

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
CACHE_MAX_AGE_S = 3600
"""Uploads and results older than this are deleted from the app's folder."""

try:
    import gradio as gr
except ImportError as error:
    raise A2SBInputError(
        'a2sb app needs gradio; install the app extra with pip install "a2sb[app]"'
    ) from error

PAGE_CSS = """
.gradio-container { max-width: 1180px !important; margin: auto; }
#a2sb-title h1 { margin-bottom: 0.1em; }
#a2sb-status { min-height: 2.2em; }
"""

INTRO = """
# a2sb — restore a recording
**Bandwidth extension** re-creates the missing top of the spectrum (an MP3, a phone line, an
old transfer); **inpainting** re-creates missing stretches (a dropout, a click). Below the
cutoff and outside the gaps the result *is* the input. Upload or record a file (wav, flac, ogg
or mp3, up to {max_file_mb:g} MB), choose the task, and press **Restore**.
"""


REFUSAL_PREFIX = "Cannot restore: "
"""How the status line starts when a restoration is refused."""


def build_page(restorer: PageRestorer, max_file_mb: float) -> gr.Blocks:
    """The Blocks page; `restorer` does the work of its `/restore` endpoint."""
    with gr.Blocks(
        title="a2sb: restore music",
        analytics_enabled=False,
        delete_cache=(CACHE_MAX_AGE_S, CACHE_MAX_AGE_S),
    ) as page:
        gr.Markdown(INTRO.format(max_file_mb=max_file_mb), elem_id="a2sb-title")
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=320):
                fields = InputFields.create(restorer)
            with gr.Column(scale=3, min_width=420):
                results = ResultFields.create()
        connect(restorer, fields, results)
    return page


@dataclass(frozen=True)
class InputFields:
    """The page's left column: the upload and the fields of a request, and the button."""

    audio: gr.Audio
    task: gr.Radio
    cutoff: gr.Textbox
    gaps: gr.Textbox
    preset: gr.Radio
    steps: gr.Slider
    model: gr.Dropdown
    seed: gr.Textbox
    output_format: gr.Radio
    run: gr.Button

    @classmethod
    def create(cls, restorer: PageRestorer) -> InputFields:
        first_model = restorer.model_names[0]
        audio = gr.Audio(
            sources=["upload", "microphone"], type="filepath", label="Before", elem_id="a2sb-input"
        )
        task = gr.Radio(list(TASKS), value="bandwidth extension", label="Task")
        cutoff = gr.Textbox(
            value="auto",
            elem_id="a2sb-cutoff",
            label="Cutoff",
            info="auto (detected), or the highest frequency to keep: 8000 or 8k",
        )
        gaps = gr.Textbox(
            value="",
            label="Gaps",
            placeholder="2.5-3, 0:41-0:41.4",
            info="inpainting: START-END in seconds or m:ss, commas between gaps",
            visible=False,
        )
        with gr.Row():
            preset = gr.Radio(
                list(PRESETS),
                elem_id="a2sb-preset",
                value=MODEL_DEFAULT,
                label="Speed / quality",
                info="the model's own sampling, or a number of steps (fewer: faster, rougher)",
            )
            steps = gr.Slider(
                1,
                200,
                value=restorer.default_steps(first_model),
                step=1,
                label="Steps",
                visible=False,
                elem_id="a2sb-steps",
            )
        with gr.Row():
            model = gr.Dropdown(
                restorer.model_names, value=first_model, label="Model", elem_id="a2sb-model"
            )
            seed = gr.Textbox(value="", label="Seed", placeholder="random", elem_id="a2sb-seed")
            output_format = gr.Radio(list(OUTPUT_FORMATS), value="wav", label="Download as")
        run = gr.Button("Restore", variant="primary", elem_id="a2sb-restore")
        return cls(audio, task, cutoff, gaps, preset, steps, model, seed, output_format, run)

    def request(self) -> list[gr.components.Component]:
        """The inputs of `/restore`, in the order of `restore_handler`'s parameters."""
        return [
            self.audio,
            self.task,
            self.cutoff,
            self.gaps,
            self.preset,
            self.steps,
            self.seed,
            self.model,
            self.output_format,
        ]


@dataclass(frozen=True)
class ResultFields:
    """The page's right column: the result's player, its picture, the download, the status."""

    audio: gr.Audio
    picture: gr.Image
    download: gr.File
    status: gr.Markdown

    @classmethod
    def create(cls) -> ResultFields:
        audio = gr.Audio(type="filepath", label="After", interactive=False, elem_id="a2sb-result")
        picture = gr.Image(
            type="filepath",
            label="Spectrograms before and after",
            show_label=False,
            interactive=False,
            elem_id="a2sb-picture",
        )
        with gr.Row():
            download = gr.File(label="Result", interactive=False, elem_id="a2sb-file")
            status = gr.Markdown(label="status", elem_id="a2sb-status")
        return cls(audio, picture, download, status)


def connect(restorer: PageRestorer, fields: InputFields, results: ResultFields) -> None:
    """The page's events: fields shown for the task and preset chosen, the steps slider at the
    chosen model's default, and the button that restores (`/restore`)."""
    fields.task.change(
        lambda chosen: (
            gr.update(visible=chosen == "bandwidth extension"),
            gr.update(visible=chosen == "inpainting"),
        ),
        fields.task,
        [fields.cutoff, fields.gaps],
        api_name=False,
    )
    fields.preset.change(
        lambda chosen: gr.update(visible=chosen == CUSTOM_STEPS),
        fields.preset,
        fields.steps,
        api_name=False,
    )
    fields.model.change(
        lambda chosen: gr.update(value=restorer.default_steps(chosen)),
        fields.model,
        fields.steps,
        api_name=False,
    )
    fields.run.click(
        restore_handler(restorer),
        fields.request(),
        [results.audio, results.picture, results.download, results.status],
        api_name="restore",
        show_progress_on=results.audio,
        concurrency_limit=len(restorer.model_names),  # one file per model at a time
    )


def restore_handler(restorer: PageRestorer) -> Callable[..., tuple]:
    """The function behind `/restore`: its parameters are the API's, with the page's defaults."""
    first_model = restorer.model_names[0]

    def restore(
        audio: str | None,
        task: str = "bandwidth extension",
        cutoff: str = "auto",
        gaps: str = "",
        preset: str = MODEL_DEFAULT,
        steps: int = 49,
        seed: str = "",
        model: str = first_model,
        output_format: str = "wav",
        progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008 (Gradio's idiom)
    ) -> tuple[str | None, str | None, str | None, str]:
        """Restore one file; returns the result (player and download), its picture, a line.
        A refusal is that line (no result): it stays on the page, in the page's words, where
        a toast would vanish."""
        request = PageRequest(task, cutoff, gaps, preset, int(steps), seed, output_format)
        progress(0, desc="starting")
        try:
            result = restorer.restore(audio, request, model)
        except A2SBInputError as error:
            return None, None, None, f"{REFUSAL_PREFIX}{error}"
        result_path = str(result.result_path)
        return result_path, str(result.picture_path), result_path, result.message

    return restore


def serve(args: argparse.Namespace) -> int:
    """Load the models of `--model`, then serve the page until interrupted; returns 0.

    Raises:
        A2SBInputError: the host or port cannot be listened on (checked before the models
            load).
    """
    check_listen_address(args.host, args.port)  # without a port, Gradio takes 7860 or the next
    page, work_dir = build_app(args)
    try:
        page.launch(**launch_options(args, work_dir), quiet=True, prevent_thread_lock=True)
        print(f"a2sb app: the page is at {page.local_url} (Ctrl-C stops it)", flush=True)
        page.block_thread()  # Gradio's own lines (its share=True hint) are left out
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    return 0


def check_listen_address(host: str, port: int | None) -> None:
    """Refuse a `--host` that is not an address of this machine, and a `--port` it cannot
    listen on (in use, or not allowed); without a port, only the host is checked.

    Raises:
        A2SBInputError: the host cannot be resolved or is another machine's; the port is taken.
    """
    try:
        addresses = socket.getaddrinfo(host, port or 0, type=socket.SOCK_STREAM)
        family, _, _, _, address = addresses[0]
        with socket.socket(family) as probe:
            probe.bind(address)
    except OSError as error:
        reason = error.strerror or str(error)
        if isinstance(error, socket.gaierror) or error.errno == errno.EADDRNOTAVAIL:
            raise A2SBInputError(
                f"--host {host} is not an address of this machine ({reason}); give "
                f"{DEFAULT_HOST} (this machine only), 0.0.0.0 (every network) or one of its "
                "addresses"
            ) from error
        raise A2SBInputError(
            f"cannot listen on {host}:{port} ({reason}); pass another --port (e.g. --port "
            f"{port + 1}), or stop what uses it"
        ) from error


def build_app(args: argparse.Namespace) -> tuple[gr.Blocks, Path]:
    """The queued page with the models of `--model` loaded, and the app's temporary folder.

    Says so on stderr when `--host` reaches beyond this machine.
    """
    models = load_models(args)
    work_dir = Path(tempfile.mkdtemp(prefix="a2sb-app-"))
    os.environ["GRADIO_TEMP_DIR"] = str(work_dir / "gradio")  # uploads and Gradio's cache
    restorer = PageRestorer(
        models, work_dir / "results", int(args.max_file_mb * MEGABYTE), Console(), CACHE_MAX_AGE_S
    )
    page = build_page(restorer, args.max_file_mb).queue(default_concurrency_limit=1)
    if args.host not in LOCAL_HOSTS:
        print(
            f"a2sb: listening on {args.host}, beyond this machine: anyone who reaches it can "
            "restore files with these models",
            file=sys.stderr,
            flush=True,
        )
    return page, work_dir


def launch_options(args: argparse.Namespace, work_dir: Path) -> dict:
    """`Blocks.launch` arguments: where to listen, what may be served, the upload limit."""
    return {
        "server_name": args.host,
        "server_port": args.port,
        "allowed_paths": [str(work_dir)],
        "max_file_size": int(args.max_file_mb * MEGABYTE),
        "css": PAGE_CSS,
        "theme": gr.themes.Soft(),
        "footer_links": ["api"],
        "show_error": False,
    }


def load_models(args: argparse.Namespace) -> dict[str, A2SBPipeline]:
    """The pipelines of `--model` (a2sb-small when none is given), by name, on one device."""
    names = list(dict.fromkeys(args.model or [BUNDLED_MODEL_NAME]))
    for name in names:
        check_model_source(name)
    device = process_device(resolve_device_kind(args.device), 0)
    console = Console()
    with console.library_logs():
        return {
            name: load_pipeline(
                ModelChoice(name, args.release_variant, dtype=args.dtype, device=args.device),
                device,
                console,
            )
            for name in names
        }
