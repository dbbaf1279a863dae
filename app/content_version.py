"""Each consortium's content version: a counter that every write to what its dossier shows moves on.

The dossier's caches (the rendered PDF, the built `Dossier` of a process) are keyed by this version,
so a cache hit is decided by one indexed query, before anything is built. The counter moves in the
same transaction as the write, whatever service wrote: after each flush, the rows inserted, changed
or deleted are traced to their consortium (`consortium_id`, or through the partner, section or part
they belong to) and `consortia.content_version` goes up by one.

A row the dossier never shows (sessions, mail, audit, renders themselves…) moves nothing. A row of
no consortium in particular moves every consortium that uses it (a call, an organisation), or every
consortium (a person's name, which shows wherever they wrote, with or without a role there now).
An INSERT, UPDATE or DELETE statement on a table the dossier shows moves every consortium, unless
it says which one it touches with `execution_options(content_of=consortium_id)`, or
`content_of=NO_CONTENT` when it changes nothing shown (a lock counter).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from markupsafe import Markup
from sqlalchemy import Table, event, inspect, select, update
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, UOWTransaction

from app.extensions import db

if TYPE_CHECKING:
    from app.consortia.models import Consortium

T = TypeVar("T")

NO_CONTENT = "none"
_PENDING = "content_version.consortia"
_EVERY = -1  # in the pending set: every consortium
_WROTE = "content_version.wrote"  # the transaction moved a version: nothing it reads is remembered
MEMO_SIZE = 256  # a few parts of pages for each consortium in use

# Tables whose rows the dossier never shows.
IGNORED_TABLES = frozenset(
    {
        "api_tokens",
        "audit_events",
        "digest_items",
        "dossier_pieces",
        "dossier_renders",
        "dossier_snapshots",
        "editing_presences",
        "invitations",
        "login_failures",
        "milestones",
        "notification_preferences",
        "outbox_messages",
        "reminders",
        "section_comments",
        "spreadsheet_imports",
        "stored_files",
        "volunteer_requests",
    }
)
# Columns whose change shows nowhere in the dossier (a login, a counter).
IGNORED_COLUMNS = {
    "users": frozenset(
        {"password_hash", "session_epoch", "last_login_at", "created_at", "is_admin", "active"}
    ),
    "consortia": frozenset(
        {"updated_at", "content_version", "discussion_version", "volunteering_open", "volunteering_intro"}
    ),
    "section_parts": frozenset({"version"}),
}
# Tables with no consortium_id, reached through the row they belong to: (column, parent table).
PARENTS = {
    "budget_amounts": ("partner_id", "partners"),
    "indicator_values": ("partner_id", "partners"),
    "sign_offs": ("partner_id", "partners"),
    "staff_lines": ("partner_id", "partners"),
    "section_parts": ("section_id", "sections"),
    "section_revisions": ("part_id", "section_parts"),
}
# Shared rows, reached backwards: the consortia whose rows point at them (table, column).
USERS_OF = {
    "calls": ("consortia", "call_id"),
    "organisations": ("partners", "organisation_id"),
}


def _table(name: str) -> Table:
    return db.metadata.tables[name]


def _changed(session: Session, instance: Any, table: Table) -> bool:
    """Whether a flushed instance changed anything the dossier may show."""
    if instance in session.new or instance in session.deleted:
        return True
    ignored = IGNORED_COLUMNS.get(table.name, frozenset())
    state = inspect(instance)
    # Relationships count too: a row re-attached through one (`partner.organisation = …`) may show
    # its new foreign key only once the flush has run.
    return any(attribute.history.has_changes() for attribute in state.attrs if attribute.key not in ignored)


def _consortia_of(session: Session, table: Table, row_id: Any, instance: Any) -> set[int]:
    """The consortia a flushed row belongs to (an empty set when it cannot be traced)."""
    if table.name == "consortia":
        return {row_id} if row_id is not None else set()
    if "consortium_id" in table.c:
        found = getattr(instance, "consortium_id", None)
        return {found} if found is not None else set()
    if table.name in PARENTS:
        column, parent = PARENTS[table.name]
        return _walk_up(session, parent, {getattr(instance, column, None)} - {None})
    if table.name in USERS_OF:
        user_table, column = USERS_OF[table.name]
        users = _table(user_table)
        target = users.c.id if user_table == "consortia" else users.c.consortium_id
        ids = session.connection().scalars(select(target).where(users.c[column] == row_id).distinct())
        return {found for found in ids if found is not None}
    return {_EVERY}  # a table nobody described: every consortium, to be safe


def _walk_up(session: Session, table_name: str, ids: set[Any]) -> set[int]:
    """Follow parent rows up to their consortium (partners and sections carry it)."""
    while ids:
        table = _table(table_name)
        if "consortium_id" in table.c:
            found = session.connection().scalars(select(table.c.consortium_id).where(table.c.id.in_(ids)))
            return set(found)
        column, table_name = PARENTS[table_name]
        ids = set(session.connection().scalars(select(table.c[column]).where(table.c.id.in_(ids))))
    return set()


def _remember(session: Session, consortia: Iterable[int]) -> None:
    session.info.setdefault(_PENDING, set()).update(consortia)


def _after_flush(session: Session, _context: UOWTransaction) -> None:
    """Trace what this flush wrote to its consortia and move their versions on."""
    touched: set[int] = set()
    for instance in (*session.new, *session.dirty, *session.deleted):
        table = getattr(type(instance), "__table__", None)
        if not isinstance(table, Table) or table.name in IGNORED_TABLES:
            continue
        if not _changed(session, instance, table):
            continue
        touched |= _consortia_of(session, table, getattr(instance, "id", None), instance)
    _bump(session, touched)


def _on_bulk(state: ORMExecuteState) -> None:
    """An INSERT, UPDATE or DELETE statement on a table the dossier shows: its consortium, or every one."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if not isinstance(table, Table) or table.name in IGNORED_TABLES or table.name == "consortia":
        return
    scope = state.execution_options.get("content_of")
    if scope == NO_CONTENT:
        return
    _bump(state.session, {scope} if isinstance(scope, int) else {_EVERY})
    _refresh_loaded(state.session)


def _bump(session: Session, touched: set[int]) -> None:
    if not touched:
        return
    consortia = _table("consortia")
    statement = update(consortia).values(content_version=consortia.c.content_version + 1)
    if _EVERY not in touched:
        statement = statement.where(consortia.c.id.in_(touched))
    session.connection().execute(statement)
    session.info[_WROTE] = True
    _remember(session, touched)


def discussion_moved(consortium_id: int) -> None:
    """A comment was written, resolved or reopened: the consortium's discussion version moves on (in
    the same transaction), and nothing this transaction reads is remembered."""
    consortia = _table("consortia")
    db.session.execute(
        update(consortia)
        .where(consortia.c.id == consortium_id)
        .values(discussion_version=consortia.c.discussion_version + 1)
    )
    db.session.info[_WROTE] = True
    from app.consortia.models import Consortium

    loaded = db.session.identity_map.get(db.session.identity_key(Consortium, consortium_id))
    if loaded is not None:
        db.session.expire(loaded, ["discussion_version"])


def _after_flush_postexec(session: Session, _context: UOWTransaction) -> None:
    _refresh_loaded(session)


def _refresh_loaded(session: Session) -> None:
    """The consortia loaded in the session read their new version on next access."""
    touched = session.info.pop(_PENDING, set())
    if not touched:
        return
    from app.consortia.models import Consortium

    for instance in list(session.identity_map.values()):
        if isinstance(instance, Consortium) and (_EVERY in touched or instance.id in touched):
            session.expire(instance, ["content_version"])


def _transaction_over(session: Session, transaction: SessionTransaction) -> None:
    # A savepoint's end is not the transaction's: its writes still wait for the outer commit.
    if transaction.parent is None:
        session.info.pop(_WROTE, None)


def install() -> None:
    """Listen to every session's flushes and bulk statements (once per process)."""
    if event.contains(Session, "after_flush", _after_flush):
        return
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "after_flush_postexec", _after_flush_postexec)
    event.listen(Session, "do_orm_execute", _on_bulk)
    event.listen(Session, "after_transaction_end", _transaction_over)


_memo: OrderedDict[Hashable, Any] = OrderedDict()
_memo_lock = threading.Lock()


def forget_all() -> None:
    """Forget everything remembered in this process (benchmarks measure pages built from scratch)."""
    with _memo_lock:
        _memo.clear()


def version_key(consortium: Consortium) -> tuple[int, str, int]:
    """Which consortium in which state: id, creation (a deleted row's id may come back), version."""
    return consortium.id, consortium.created_at.isoformat(), consortium.content_version


def remembered(consortium: Consortium, what: Hashable, build: Callable[[], T]) -> T:
    """`build()`'s result for this content version of the consortium, built once per process.

    Only for plain values (never ORM objects: they belong to one session). Nothing is remembered
    from a transaction that has written: its version may still be rolled back."""
    if db.session.info.get(_WROTE):
        return build()
    key = (what, *version_key(consortium))
    with _memo_lock:
        if key in _memo:
            _memo.move_to_end(key)
            return _memo[key]
    value = build()
    with _memo_lock:
        _memo[key] = value
        while len(_memo) > MEMO_SIZE:
            _memo.popitem(last=False)
    return value


def remembered_html(consortium: Consortium, what: Hashable, render: Callable[[], str]) -> Markup:
    """A part of a page that shows the consortium's content and nothing of who looks at it, rendered
    once per content version and day (dates and delays count in days)."""
    from app.templating import paris_today

    return remembered(consortium, ("html", what, paris_today()), lambda: Markup(render()))


def content_version(consortium_id: int) -> int:
    """The consortium's version as stored (not the session's possibly older copy)."""
    consortia = _table("consortia")
    found = db.session.scalar(select(consortia.c.content_version).where(consortia.c.id == consortium_id))
    return int(found or 0)
