"""Benchmarks (`make bench`): how the main pages and computations grow with the number of partners.

Measured in one run on a throw-away SQLite database, best of several repetitions, and reported as
ratios so that a noisy machine still gives comparable figures.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from app import create_app
from app.budget.calculations import consolidate
from app.budget.figures import load
from app.consortia.models import Role
from app.extensions import db
from config import TestConfig
from tests.factories import login, make_consortium, make_member

SIZES = (12, 24, 48)
REPEAT = 7


def best_of(action: Callable[[], object], repeat: int = REPEAT) -> float:
    """The fastest of several runs, in seconds (the least disturbed by the rest of the machine)."""
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return min(timings)


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
        rows = []
        for size, slug, email, figures in setups:
            client = app.test_client()  # requests run in their own app context, as in production
            login(client, email)
            page, api = f"/consortia/{slug}", f"/api/v1/consortia/{slug}"
            rows.append(
                (
                    size,
                    best_of(lambda figures=figures: consolidate(figures)),
                    best_of(lambda client=client, page=page: client.get(page)),
                    best_of(lambda client=client, api=api: client.get(api)),
                )
            )
    base = rows[0]
    print(
        f"{'partenaires':>11} {'calcul (ms)':>12} {'page (ms)':>10} {'API (ms)':>9}"
        f"   ratios / {base[0]} partenaires"
    )
    for size, calc, page, api in rows:
        print(
            f"{size:>11} {calc * 1000:>12.2f} {page * 1000:>10.1f} {api * 1000:>9.1f}   "
            f"×{size / base[0]:.0f} partenaires : calcul ×{calc / base[1]:.2f}, page ×{page / base[2]:.2f}, "
            f"API ×{api / base[3]:.2f}"
        )
    # Growth must stay at most linear: doubling the partners may not more than double the time
    # (with 25 % slack for noise).
    worst = max(
        max(calc / base[1], page / base[2], api / base[3]) / (size / base[0])
        for size, calc, page, api in rows
    )
    print(f"croissance la plus forte rapportée au nombre de partenaires : {worst:.2f} (limite 1,25)")
    return 0 if worst <= 1.25 else 1


if __name__ == "__main__":
    sys.exit(main())
