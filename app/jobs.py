"""Long work outside the request: RQ workers when REDIS_URL is set, a background thread otherwise.

A job is a function named by its dotted path and called with plain arguments (ids, never ORM
objects); it runs in its own application context, so with its own database session, and commits
what it does itself. A job asked for during a transaction starts only once that transaction has
committed: the rows it reads then exist for every worker, and a rolled-back request starts nothing.

Settings (config.py): `REDIS_URL` (RQ), `JOBS_QUEUE`, `JOBS_TIMEOUT`, `JOBS_SYNCHRONOUS` (tests).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import db

_PENDING = "jobs_after_commit"

JobTarget = str | Callable[..., Any]


def job_path(target: JobTarget) -> str:
    """The dotted path of a job function (what RQ stores and a worker imports)."""
    if isinstance(target, str):
        return target
    return f"{target.__module__}.{target.__qualname__}"


def resolve(path: str) -> Callable[..., Any]:
    """The function at a dotted path such as `app.dossier.rendering.render_job`."""
    module_name, _, name = path.rpartition(".")
    function = getattr(importlib.import_module(module_name), name)
    if not callable(function):
        raise TypeError(f"{path} is not callable")
    return function


def execute(path: str, *args: Any) -> Any:
    """Run a job in a fresh app context (the current application's, or one built from the environment)."""
    if has_app_context():
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    else:
        from app import create_app  # a worker process has no application yet

        app = create_app()
    with app.app_context():
        try:
            return resolve(path)(*args)
        finally:
            db.session.remove()


def run_later(target: JobTarget, *args: Any) -> None:
    """Start a job: after the current transaction commits if one is open, else now."""
    path = job_path(target)
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    session = db.session()
    if session.in_transaction():
        _after_commit(session, lambda: _start(app, path, args))
    else:
        _start(app, path, args)


def _start(app: Flask, path: str, args: tuple[Any, ...]) -> None:
    if app.config.get("JOBS_SYNCHRONOUS"):
        with app.app_context():
            execute(path, *args)
        return
    redis_url = app.config.get("REDIS_URL")
    if redis_url:
        from redis import Redis
        from rq import Queue

        try:
            queue = Queue(app.config["JOBS_QUEUE"], connection=Redis.from_url(redis_url))
            queue.enqueue(execute, path, *args, job_timeout=app.config["JOBS_TIMEOUT"])
            return
        except Exception:  # Redis unreachable: the work is still done, here, rather than lost
            app.logger.exception("File de tâches Redis injoignable : %s exécutée dans ce processus.", path)
    thread = threading.Thread(target=_in_thread, args=(app, path, args), name=f"job {path}", daemon=True)
    thread.start()


def _in_thread(app: Flask, path: str, args: tuple[Any, ...]) -> None:
    with app.app_context():
        try:
            execute(path, *args)
        except Exception:  # a thread's exception would otherwise vanish
            app.logger.exception("Tâche en arrière-plan %s en échec.", path)


def _after_commit(session: Session, start: Callable[[], None]) -> None:
    pending: list[Callable[[], None]] | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
        event.listen(session, "after_commit", _run_pending)
        event.listen(session, "after_rollback", _drop_pending)
    pending.append(start)


def _run_pending(session: Session) -> None:
    pending: list[Callable[[], None]] = session.info.get(_PENDING) or []
    session.info[_PENDING] = []
    for start in pending:
        start()


def _drop_pending(session: Session) -> None:
    session.info[_PENDING] = []
