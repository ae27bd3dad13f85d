"""Screenshot the service's web page for the docs (docs/img/service-page.png).

Starts `unmask serve` on a free local port with a fresh data folder, opens the page in headless Chromium
(Debian's /usr/bin/chromium through Playwright; no browser download), uploads a sample, waits for its verdict
and saves the page. tests/test_serve_browser.py shares the server and browser helpers below.

    .venv/bin/python tools/screenshot_page.py [--sample samples/spliced.jpg] [--out docs/img/service-page.png]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
INSTALL_HINT = "apt-get install -y chromium && .venv/bin/pip install playwright (no `playwright install` needed)"
SERVER_START_S = 60.0


def find_chromium() -> str | None:
    """The Chromium to drive: $UNMASK_CHROMIUM, else chromium or chromium-browser on PATH."""
    return os.environ.get("UNMASK_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path) -> None:
    """Poll /v1/health until it answers 200; fail with the server's log when it exits or takes too long."""
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"unmask serve exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/v1/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"unmask serve did not answer within {SERVER_START_S:.0f} s:\n{log.read_text(errors='replace')}")


@contextmanager
def running_server(data_dir: Path, *options: str) -> Iterator[str]:
    """Run `unmask serve` (this Python's unmask) on a free port; yields its base URL, stops it after."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "server.log"
    command = [sys.executable, "-c", "from unmask.cli import main; main()", "serve", "--host", "127.0.0.1",
               "--port", str(port), "--data-dir", str(data_dir), *options]
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def browser_context(profile_dir: Path, chromium: str | None = None, **options: Any) -> Iterator[Any]:
    """A Playwright context in headless Chromium with a fresh profile folder; `options` go to the context."""
    from playwright.sync_api import sync_playwright

    executable = chromium or find_chromium()
    if executable is None:
        raise RuntimeError(f"no Chromium found; install it: {INSTALL_HINT}")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile_dir), executable_path=executable, headless=True, args=CHROMIUM_ARGS, **options)
        try:
            yield context
        finally:
            context.close()


def upload_and_wait(page: Any, files: list[Any], timeout_ms: float = 60_000) -> None:
    """Pick `files` (paths or Playwright file payloads) in the page's file input; wait until each is final."""
    before = page.locator("#jobs li").count()
    page.set_input_files("#file-input", files)
    total = before + len(files)
    page.wait_for_function(
        """n => { const rows = [...document.querySelectorAll('#jobs li')];
                  return rows.length >= n && rows.every(li => ['done', 'failed'].includes(li.dataset.status)); }""",
        arg=total, timeout=timeout_ms)


def take_screenshot(sample: Path, out: Path, profile: str = "default") -> Path:
    """Analyse `sample` through the page of a fresh server and save a screenshot of the result to `out`."""
    with tempfile.TemporaryDirectory(prefix="unmask-shot-") as tmp:
        png = _result_png(Path(tmp), sample, profile)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_small_png(png, out)
    return out


def _result_png(tmp: Path, sample: Path, profile: str) -> bytes:
    """The page after analysing `sample`, from the top down to the end of the reasons, as PNG bytes."""
    with running_server(tmp / "data", "--profile", profile) as url, \
            browser_context(tmp / "browser", viewport={"width": 1280, "height": 900}) as context:
        page = context.new_page()
        page.goto(url + "/")
        upload_and_wait(page, [str(sample)], timeout_ms=180_000)
        page.wait_for_selector("#result-body [data-testid=verdict]")
        page.wait_for_function("() => document.querySelector('#result-body canvas.overlay')?.dataset.map")
        # down to the end of the reasons: upload area, verdict, map viewer and reasons in one picture
        bottom = page.evaluate("() => (document.querySelector('#result-body details.more')"
                               " || document.querySelector('#result-body ol.reasons'))"
                               ".getBoundingClientRect().bottom + window.scrollY + 16")
        return page.screenshot(full_page=True, clip={"x": 0, "y": 0, "width": 1280, "height": bottom})


def save_small_png(png: bytes, out: Path, colours: int = 256) -> None:
    """Save a screenshot as a palette PNG: a fraction of the size, and still sharp for text and UI."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        im.convert("RGB").quantize(colours, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=Path, default=ROOT / "samples" / "spliced.jpg")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "service-page.png")
    parser.add_argument("--profile", default="default")
    args = parser.parse_args()
    print(take_screenshot(args.sample, args.out, args.profile))


if __name__ == "__main__":
    main()
