"""The main pages against a minimal page, side by side in one run (`python -m tests.benchmarks.run pages`).

The baseline is a minimal Flask application rendering 100 rows of the same database engine with
Jinja (its own SQLite file, or a table beside ours on PostgreSQL), requested the
same way as ours: through the WSGI test client, in this process, so that both carry the same
server-side costs and none of a load generator's. Each page is requested as the lead partner's
coordinator (who sees everything) for 12 and 60 partners; req/s is the inverse of the median of the
turns, after one warm-up request, each page's requests alternating with the baseline's so that both
meet the same machine (the ratio is the page's to the baseline's measured beside it). Targets:
every page at ≥ 0.5 × the baseline's req/s at 12 partners (the overview at ≥ 0.8), and at 60
partners within 1.5 × its time at 12.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask, render_template_string
from flask.testing import FlaskClient
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select

from app.consortia.models import Role
from app.extensions import db
from tests.factories import login, make_consortium, make_member

SIZES = (12, 60)
TURNS = 30
PAGES = {
    "synthèse": "/consortia/{slug}",
    "plan de financement": "/consortia/{slug}/plan-de-financement",
    "rédaction (sommaire)": "/consortia/{slug}/redaction",
    "page d'une section": "/consortia/{slug}/redaction/diagnostic",
    "grille budgétaire": "/consortia/{slug}/membres/urtie-idf/budget",
    "indicateurs": "/consortia/{slug}/membres/urtie-idf/indicateurs",
    "tableau de suivi": "/consortia/{slug}/suivi",
    "membres": "/consortia/{slug}/membres",
    "page du dossier": "/consortia/{slug}/dossier",
    "activité": "/consortia/{slug}/activite",
    "API": "/api/v1/consortia/{slug}",
}
OVERVIEW = "synthèse"
MIN_RATIO, MIN_OVERVIEW_RATIO, MAX_GROWTH = 0.5, 0.8, 1.5

BASELINE_TEMPLATE = """<!doctype html><html lang="fr"><head><title>Référence</title></head><body>
<table>{% for row in rows %}<tr><td>{{ row.id }}</td><td>{{ row.name }}</td><td>{{ row.amount }}</td></tr>
{% endfor %}</table></body></html>"""


def side_by_side(
    baseline: Callable[[], object], page: Callable[[], object], turns: int = TURNS
) -> tuple[float, float]:
    """The medians of the baseline and the page, requested in turn: a machine that slows down or
    speeds up during the run moves both alike, so their ratio holds."""
    baseline()
    page()
    timings: tuple[list[float], list[float]] = ([], [])
    for _ in range(turns):
        for action, found in zip((baseline, page), timings, strict=True):
            start = time.perf_counter()
            action()
            found.append(time.perf_counter() - start)
    return statistics.median(timings[0]), statistics.median(timings[1])


@contextmanager
def baseline_app(url: str) -> Iterator[Flask]:
    """A minimal Flask page rendering 100 rows of the database at `url` with Jinja (its table is
    dropped afterwards)."""
    engine = create_engine(url)
    metadata = MetaData()
    rows = Table(
        "baseline_rows",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("name", String(80)),
        Column("amount", Integer),
    )
    metadata.drop_all(engine)
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(rows), [{"name": f"Ligne {i}", "amount": i * 37} for i in range(100)])
    app = Flask("baseline")

    @app.get("/")
    def index() -> str:
        with engine.connect() as connection:
            found = connection.execute(select(rows)).all()
        return render_template_string(BASELINE_TEMPLATE, rows=found)

    try:
        yield app
    finally:
        metadata.drop_all(engine)
        engine.dispose()


def _ok(client: FlaskClient, path: str) -> Callable[[], object]:
    def get() -> object:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return response

    return get


def pages_benchmark(app: Flask, label: str) -> tuple[bool, list[str]]:
    """Our main pages at 12 and 60 partners against the baseline, on the database `app` uses."""
    clients: dict[int, tuple[str, FlaskClient]] = {}
    for size in SIZES:
        with app.app_context():
            consortium = make_consortium(size, slug=f"pages-{size}")
            user = make_member(consortium, Role.COORDINATOR, "urtie-idf", email=f"pages{size}@exemple.fr")
            slug, email = consortium.slug, user.email
            db.session.commit()
        client = app.test_client()  # requests run in their own app context, as in production
        login(client, email)
        clients[size] = (slug, client)
    with tempfile.TemporaryDirectory() as folder:
        url = (
            f"sqlite:///{Path(folder) / 'baseline.sqlite3'}"
            if label == "SQLite"
            else app.config["SQLALCHEMY_DATABASE_URI"]
        )
        with baseline_app(url) as baseline_flask:
            reference = _ok(baseline_flask.test_client(), "/")
            measured = {
                name: {
                    size: side_by_side(reference, _ok(client, path.format(slug=slug)))
                    for size, (slug, client) in clients.items()
                }
                for name, path in PAGES.items()
            }
    baseline = statistics.median(base for by_size in measured.values() for base, _page in by_size.values())
    # Each page's time as if the baseline had taken its overall median while the page was measured.
    timings = {
        name: {size: page * baseline / base for size, (base, page) in by_size.items()}
        for name, by_size in measured.items()
    }
    small, large = SIZES
    lines = [
        "",
        f"Pages ({label}) : req/s d'un processus (1 / médiane de {TURNS} requêtes), rapport à la page de"
        f" référence (Flask minimal, 100 lignes {label}) : {1 / baseline:.0f} req/s",
        f"{'page':<24} {f'{small} part. (ms)':>14} {'req/s':>7} {'rapport':>8} {f'{large} part. (ms)':>14}"
        f" {f'×{large}/{small}':>8}",
    ]
    ok = True
    for name, by_size in timings.items():
        ratio = baseline / by_size[small]
        growth = by_size[large] / by_size[small]
        wanted = MIN_OVERVIEW_RATIO if name == OVERVIEW else MIN_RATIO
        verdict = "" if ratio >= wanted and growth <= MAX_GROWTH else "  ← hors objectif"
        ok = ok and not verdict
        lines.append(
            f"{name:<24} {by_size[small] * 1000:>14.1f} {1 / by_size[small]:>7.0f} {ratio:>8.2f}"
            f" {by_size[large] * 1000:>14.1f} {growth:>8.2f}{verdict}"
        )
    lines.append(
        f"  objectifs : rapport ≥ {MIN_RATIO} (synthèse ≥ {MIN_OVERVIEW_RATIO}),"
        f" {large} partenaires ≤ {MAX_GROWTH} × le temps à {small}"
    )
    return ok, lines
