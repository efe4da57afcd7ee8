"""Run the code blocks of one documentation page in order, like a notebook.

`python tests/docs_runner.py BLOCKS.json`: each block is `{"language", "path", "line",
"code"}`. Python blocks run in this process and share one namespace; bash blocks run with
`bash -e`. Tracebacks point at the page's own lines. The first failure ends the run (exit 1).
"""

import json
import subprocess
import sys
import time
from pathlib import Path


def run_python(code: str, path: str, line: int, namespace: dict) -> None:
    padded = "\n" * (line - 1) + code  # so that tracebacks give the page's line numbers
    exec(compile(padded, path, "exec"), namespace)


def run_bash(code: str, path: str, line: int) -> None:
    result = subprocess.run(["bash", "-e", "-c", code])
    if result.returncode:
        sys.exit(f"{path}:{line}: the bash block ended with exit code {result.returncode}")


def main(blocks_file: str) -> None:
    namespace = {"__name__": "__main__"}
    for block in json.loads(Path(blocks_file).read_text()):
        print(f"--- {block['path']}:{block['line']} ({block['language']})", flush=True)
        start = time.perf_counter()
        if block["language"] == "python":
            run_python(block["code"], block["path"], block["line"], namespace)
        else:
            run_bash(block["code"], block["path"], block["line"])
        print(f"--- {time.perf_counter() - start:.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
