"""Run the whole test suite on SQLite, then on PostgreSQL when one is configured or answers.

`TEST_DATABASE_URL` names the PostgreSQL database; without it, a server answering on
127.0.0.1:5432 with a database `test` is used. `REQUIRE_POSTGRES=1` (CI) makes its absence an error.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _postgres_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


def _pytest(label: str, env: dict[str, str], args: list[str]) -> int:
    print(f"\n=== Tests sur {label} ===", flush=True)
    code = subprocess.call([sys.executable, "-m", "pytest", *args], env=env)
    if code == 5:  # pytest found no test: that is a failure of the suite, not a success
        print(f"Aucun test exécuté sur {label}.", file=sys.stderr)
        return 1
    return code


def main() -> int:
    args = sys.argv[1:]
    base = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
    postgres_url = os.environ.get("TEST_DATABASE_URL")
    if not postgres_url and _postgres_answers():
        postgres_url = DEFAULT_POSTGRES

    sqlite_code = _pytest("SQLite", base, args)
    if not postgres_url:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            print("PostgreSQL est requis (REQUIRE_POSTGRES=1) mais ne répond pas.", file=sys.stderr)
            return 1
        print("PostgreSQL ne répond pas sur 127.0.0.1:5432 : tests PostgreSQL non lancés.")
        return sqlite_code
    postgres_code = _pytest("PostgreSQL", {**base, "TEST_DATABASE_URL": postgres_url}, args)
    return sqlite_code or postgres_code


if __name__ == "__main__":
    sys.exit(main())
