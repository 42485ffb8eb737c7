"""The survey page as a customer's browser shows it: headless Chromium against the real handler.

The handler runs under moto behind a small HTTP server on 127.0.0.1; Chromium loads the link, dumps the
DOM it built and takes a screenshot (kept when ``SURVEY_SCREENSHOT_DIR`` is set, to look at).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from carehooks import clock
from carehooks.config.surveys import SurveyConfig
from carehooks.store import Store
from carehooks.surveys.token import sign
from carehooks.wiring import survey_page as survey_wiring
from carehooks.wiring.store import get_store
from tests.helpers import FakeContext, http_event, load_handler
from tests.integration.conftest import Aws
from tests.integration.survey_support import customer_writes, resolve, use_survey_config

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
KEY = "survey-signing-key-for-browser-tests-0123"
WIDTH, HEIGHT = 600, 900


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("Chromium is needed for the survey page browser test (make tools installs it)")


@pytest.fixture
def site(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Store]]:
    """The survey page handler served on a free loopback port."""
    config = SurveyConfig()
    use_survey_config(monkeypatch, config)
    monkeypatch.setattr(survey_wiring, "survey_config", lambda: config)
    monkeypatch.setenv("SURVEY_SIGNING_KEY", KEY)
    handler = load_handler("survey_page").handler

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            path = self.path.split("?", 1)[0]
            event = http_event(self.command, path, body, headers=dict(self.headers.items()))
            event["pathParameters"] = {"token": path.rsplit("/", 1)[-1]}
            with clock.frozen(T0 + timedelta(hours=2)):
                result = handler(event, FakeContext())
            payload = result["body"].encode()
            self.send_response(result["statusCode"])
            for name, value in result["headers"].items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = _serve
        do_POST = _serve

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", get_store()
    finally:
        server.shutdown()
        server.server_close()


def browse(url: str, tmp_path: Path, name: str) -> tuple[str, Path]:
    """Load ``url`` in headless Chromium: (the DOM it rendered, a screenshot)."""
    shot = tmp_path / f"{name}.png"
    common = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--window-size={WIDTH},{HEIGHT}",
    ]
    dom = subprocess.run(
        [*common, "--dump-dom", url], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    subprocess.run(
        [*common, f"--screenshot={shot}", url], capture_output=True, text=True, timeout=60, check=True
    )
    keep = os.environ.get("SURVEY_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)
    return dom, shot


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def survey_link(base: str, store: Store, expires: timedelta = timedelta(days=7)) -> str:
    with clock.frozen(T0):
        conv = customer_writes(store, T0)
        resolve(store, conv.id, T0 + timedelta(minutes=5))
    return f"{base}/survey/{sign(conv.id, T0 + expires, KEY)}"


def test_the_form_renders_in_a_browser(site: tuple[str, Store], tmp_path: Path) -> None:
    base, store = site
    dom, shot = browse(survey_link(base, store), tmp_path, "survey-form")
    assert "How did we do today? Please rate this conversation." in dom
    assert dom.count('type="radio"') == 5
    assert "5 \u2013 Excellent" in dom
    assert png_size(shot) == (WIDTH, HEIGHT)
    assert shot.stat().st_size > 10_000  # a page with content, not a blank frame


def test_an_expired_link_renders_a_clear_page(site: tuple[str, Store], tmp_path: Path) -> None:
    base, store = site
    dom, shot = browse(survey_link(base, store, expires=timedelta(hours=1)), tmp_path, "survey-expired")
    assert "This survey link has expired." in dom
    assert "<form" not in dom
    assert png_size(shot) == (WIDTH, HEIGHT)


def test_a_forged_link_renders_a_clear_page(site: tuple[str, Store], tmp_path: Path) -> None:
    base, _ = site
    dom, _shot = browse(f"{base}/survey/forged.token", tmp_path, "survey-forged")
    assert "This survey link is not valid." in dom
