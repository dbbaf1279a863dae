"""The PDF's fetcher serves only our static assets; rendering is bounded in time, memory and number."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest
from flask import Flask

from app.dossier import pdf
from app.dossier.pdf import BASE_URL, RefusedURL, RenderError, SafeFetcher, render_pdf, weasyprint_only

PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


class _Recorder(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Recorder.hits.append(self.path)
        self.send_response(302)
        self.send_header("Location", BASE_URL + "static/css/dossier.css")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def redirecting_server() -> Iterator[str]:
    """A local server answering every request with a redirect, recording whether it was asked."""
    _Recorder.hits = []
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_serves_a_static_asset() -> None:
    response = SafeFetcher().fetch(BASE_URL + "static/css/dossier.css")
    assert response.content_type == "text/css"
    assert b"@page" in response.read()


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "http://example.com/style.css",
        "https://example.com/static/css/dossier.css",
        "ftp://example.com/x.css",
        BASE_URL + "static/../../../../etc/passwd",
        BASE_URL + "static/%2e%2e/%2e%2e/config.py",
        BASE_URL + "static/..%2f..%2fconfig.py",
        BASE_URL + "static/css/..\\..\\config.py",
        BASE_URL + "app/__init__.py",
        BASE_URL + "static/css/nothing-here.css",
        BASE_URL + "static/vendor/README.md",
        "https://user@consortio.invalid/static/css/dossier.css",
        "data:text/html,<script>alert(1)</script>",
        "data:image/svg+xml;base64," + "A" * 100_000,
    ],
)
def test_refuses_everything_else(url: str) -> None:
    with pytest.raises(RefusedURL):
        SafeFetcher().fetch(url)


def test_serves_small_inline_images_only() -> None:
    small = "data:image/png;base64," + base64.b64encode(PNG_1PX).decode()
    assert SafeFetcher().fetch(small).read() == PNG_1PX
    big = "data:image/png;base64," + base64.b64encode(b"\0" * (70 * 1024)).decode()
    with pytest.raises(RefusedURL):
        SafeFetcher().fetch(big)


def test_refuses_a_redirect_without_contacting_the_server(redirecting_server: str) -> None:
    with pytest.raises(RefusedURL):
        SafeFetcher().fetch(redirecting_server + "/redirige")
    assert _Recorder.hits == []


def test_weasyprint_reads_nothing_outside_our_assets(redirecting_server: str) -> None:
    html = (
        f'<html><head><link rel="stylesheet" href="{redirecting_server}/style.css">'
        '<link rel="stylesheet" href="file:///etc/passwd"></head><body>'
        '<img src="file:///etc/passwd"><img src="/static/../config.py">'
        f'<img src="{redirecting_server}/image.png"><iframe src="file:///etc/hostname"></iframe>'
        '<object data="file:///etc/passwd"></object><p>Contenu du dossier</p></body></html>'
    )
    data = weasyprint_only(html)
    assert data.startswith(b"%PDF")
    assert _Recorder.hits == []
    assert b"root:" not in data


def test_render_is_stopped_after_the_time_bound(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    html = "<html><body>" + "<p>Un paragraphe assez long pour occuper la mise en page.</p>" * 20_000
    monkeypatch.setitem(app.config, "DOSSIER_RENDER_TIMEOUT", 1)
    with pytest.raises(RenderError, match="dépassé 1 secondes"):
        render_pdf(html + "</body></html>")


def test_render_is_stopped_beyond_the_memory_bound(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "DOSSIER_RENDER_MEMORY_MB", 8)
    with pytest.raises(RenderError):
        render_pdf("<html><body>" + "<table><tr><td>cellule</td></tr></table>" * 5_000 + "</body></html>")


def test_at_most_n_renders_at_once(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "DOSSIER_MAX_CONCURRENT_RENDERS", 1)
    monkeypatch.setitem(app.config, "DOSSIER_RENDER_TIMEOUT", 1)
    slot = pdf._semaphore(1)
    assert slot.acquire(timeout=1)
    try:
        with pytest.raises(RenderError, match="Trop de dossiers"):
            render_pdf("<p>attente</p>")
    finally:
        slot.release()


def test_render_returns_the_pdf_and_its_page_count() -> None:
    rendered = render_pdf('<p>Première page</p><p style="break-before: page">Seconde page</p>')
    assert rendered.data.startswith(b"%PDF")
    assert rendered.page_count == 2
