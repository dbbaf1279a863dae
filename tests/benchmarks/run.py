"""Benchmarks (`make bench`): how the main pages and computations grow with the number of partners,
and the budget benchmark: consolidating 30 partners × 4 years costs under 5 % of rendering their overview,
whose number of queries stays the same from 3 to 30 partners.

Measured in one run on a throw-away SQLite database, best of several repetitions, and reported as
ratios so that a noisy machine still gives comparable figures.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from flask import Flask
from sqlalchemy import event

from app import create_app
from app.budget.calculations import consolidate
from app.budget.figures import load
from app.consortia.models import Role
from app.extensions import db
from config import TestConfig
from tests.factories import login, make_consortium, make_member

SIZES = (12, 24, 48)
REPEAT = 7
BUDGET_PARTNERS = 30
QUERY_SIZES = (3, 30)
MAX_CONSOLIDATION_SHARE = 0.05


def best_of(action: Callable[[], object], repeat: int = REPEAT) -> float:
    """The fastest of several runs, in seconds (the least disturbed by the rest of the machine)."""
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return min(timings)


def queries_of(app: Flask, action: Callable[[], object]) -> int:
    """How many SQL statements an action runs."""
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def budget_benchmark(app: Flask) -> tuple[bool, list[str]]:
    """Consolidation against the overview page for 30 partners × 4 years, and the page's queries."""
    setups = {}
    with app.app_context():
        for size in sorted({BUDGET_PARTNERS, *QUERY_SIZES}):
            consortium = make_consortium(size, slug=f"budget-{size}")
            user = make_member(consortium, Role.COORDINATOR, "urtie-idf", email=f"budget{size}@exemple.fr")
            figures = load(consortium).figures
            setups[size] = (consortium.slug, user.email, figures)
            db.session.commit()
    clients = {}
    for size, (_slug, email, _figures) in setups.items():
        clients[size] = app.test_client()
        login(clients[size], email)
    slug, _email, figures = setups[BUDGET_PARTNERS]
    years = len(figures.model.years)
    client = clients[BUDGET_PARTNERS]
    page_time = best_of(lambda: client.get(f"/consortia/{slug}"))
    calc_time = best_of(lambda: consolidate(figures), repeat=REPEAT * 3)
    share = calc_time / page_time
    lines = [
        "",
        f"Budget : {BUDGET_PARTNERS} partenaires × {years} années",
        f"  consolidation {calc_time * 1000:.2f} ms, page de synthèse {page_time * 1000:.1f} ms",
        f"  part de la consolidation : {share * 100:.1f} % (limite {MAX_CONSOLIDATION_SHARE * 100:.0f} %)",
    ]
    counts = {}
    for size in QUERY_SIZES:
        size_slug = setups[size][0]
        size_client = clients[size]
        counts[size] = queries_of(app, partial(size_client.get, f"/consortia/{size_slug}"))
    constant = len(set(counts.values())) == 1
    lines.append(
        "  requêtes SQL de la page de synthèse : "
        + ", ".join(f"{n} pour {size} partenaires" for size, n in counts.items())
        + (" (constant)" if constant else " (NON CONSTANT)")
    )
    return share < MAX_CONSOLIDATION_SHARE and constant and years == 4, lines


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:

        class Config(TestConfig):
            SQLALCHEMY_DATABASE_URI = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"

        app = create_app(Config)
        setups = []
        with app.app_context():
            db.create_all()
            for size in SIZES:
                consortium = make_consortium(size, slug=f"bench-{size}")
                user = make_member(consortium, Role.COORDINATOR, "urtie-idf", email=f"bench{size}@exemple.fr")
                setups.append((size, consortium.slug, user.email, load(consortium).figures))
                db.session.commit()
        rows: list[tuple[int, float, float, float]] = []
        for size, slug, email, figures in setups:
            client = app.test_client()  # requests run in their own app context, as in production
            login(client, email)
            page, api = f"/consortia/{slug}", f"/api/v1/consortia/{slug}"
            rows.append(
                (
                    size,
                    best_of(partial(consolidate, figures)),
                    best_of(partial(client.get, page)),
                    best_of(partial(client.get, api)),
                )
            )
        budget_ok, budget_lines = budget_benchmark(app)
    base = rows[0]
    print(
        f"{'partenaires':>11} {'calcul (ms)':>12} {'page (ms)':>10} {'API (ms)':>9}"
        f"   ratios / {base[0]} partenaires"
    )
    for size, calc, page_time, api_time in rows:
        print(
            f"{size:>11} {calc * 1000:>12.2f} {page_time * 1000:>10.1f} {api_time * 1000:>9.1f}   "
            f"×{size / base[0]:.0f} partenaires : calcul ×{calc / base[1]:.2f}, "
            f"page ×{page_time / base[2]:.2f}, API ×{api_time / base[3]:.2f}"
        )
    # Growth must stay at most linear: doubling the partners may not more than double the time
    # (with 25 % slack for noise).
    worst = max(
        max(calc / base[1], page_time / base[2], api_time / base[3]) / (size / base[0])
        for size, calc, page_time, api_time in rows
    )
    print(f"croissance la plus forte rapportée au nombre de partenaires : {worst:.2f} (limite 1,25)")
    print("\n".join(budget_lines))
    return 0 if worst <= 1.25 and budget_ok else 1


if __name__ == "__main__":
    sys.exit(main())
