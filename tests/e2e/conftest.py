"""Browser tests: the application served on a random port, driven by the system's Chromium.

Chromium comes from Debian, never from `playwright install`: `$CHROMIUM_PATH`, else the
real binary `/usr/lib/chromium/chromium` (the `chromium` wrapper script prints a harmless
shell error), else `chromium` on the PATH. Without it the tests are skipped, or fail when
`REQUIRE_BROWSER=1` (CI must not pass by skipping them).
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page
from werkzeug.serving import make_server

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
REAL_CHROMIUM = "/usr/lib/chromium/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
# Long enough for a slow CI machine, short enough that a missing element fails quickly.
ACTION_TIMEOUT_MS = 10_000

_CALL_REPORT = pytest.StashKey[pytest.TestReport]()


def chromium_executable() -> str:
    """The Chromium to drive; skips the test, or fails it when REQUIRE_BROWSER=1, if there is none."""
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        if not os.access(configured, os.X_OK):
            pytest.fail(f"CHROMIUM_PATH={configured} n'est pas un exécutable.")
        return configured
    if os.access(REAL_CHROMIUM, os.X_OK):
        return REAL_CHROMIUM
    found = shutil.which("chromium")
    if found:
        return found
    reason = (
        "Chromium introuvable (ni $CHROMIUM_PATH, ni /usr/lib/chromium/chromium, ni `chromium` "
        "dans le PATH) : installez-le avec `apt-get install --no-install-recommends chromium`."
    )
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} REQUIRE_BROWSER=1 exige les tests navigateur.")
    pytest.skip(reason)


class _CountingApp:
    """The application, counting the requests it is serving (to wait for the last one after a test)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.active = 0
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with self.lock:
            self.active += 1
        try:
            body = self.app(environ, start_response)
            try:
                return list(body)
            finally:
                body.close()  # WSGI: files served as static assets are closed here
        finally:
            with self.lock:
                self.active -= 1

    def wait_until_idle(self, timeout: float = 15.0) -> None:
        """Wait for requests still running, such as the save a page sends as it closes."""
        deadline = time.monotonic() + timeout
        while self.active and time.monotonic() < deadline:
            time.sleep(0.05)


@pytest.fixture(scope="session")
def served_app(app: Flask) -> _CountingApp:
    """The application as the live server serves it."""
    return _CountingApp(app)


@pytest.fixture(autouse=True)
def _quiet_server_before_cleanup(_database: None, served_app: _CountingApp) -> Iterator[None]:
    # Torn down after the browser pages close and before the tables are emptied: a request still
    # running then (a page's last autosave) would otherwise race the clean-up.
    yield
    served_app.wait_until_idle()


@pytest.fixture(scope="session")
def live_server(served_app: _CountingApp) -> Iterator[str]:
    """The test application (on the test database) served by threads, for the browser."""
    server = make_server("127.0.0.1", 0, served_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def base_url(live_server: str) -> str:
    """pytest-playwright opens relative URLs such as page.goto("/connexion") on the live server."""
    return live_server


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """The system Chromium, headless unless --headed, with flags that suit containers and CI."""
    return {**browser_type_launch_args, "executable_path": chromium_executable(), "args": CHROMIUM_ARGS}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep the outcome of the test body, so the page fixture knows whether to take a screenshot."""
    report: pytest.TestReport = yield
    if report.when == "call":
        item.stash[_CALL_REPORT] = report
    return report


@pytest.fixture
def page(page: Page, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh page; when the test fails, what it showed is saved in test-artifacts/."""
    page.set_default_timeout(ACTION_TIMEOUT_MS)
    yield page
    report = request.node.stash.get(_CALL_REPORT, None)
    if report is not None and report.failed and not page.is_closed():
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)
        page.screenshot(path=ARTIFACTS / f"echec-{name}.png", full_page=True)
