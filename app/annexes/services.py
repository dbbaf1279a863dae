"""Partners' annexes: what each partner provided, which kinds the coordination requires, uploads."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import delete, select

from app.annexes import files
from app.annexes.models import ANNEX_KIND_LABELS, Annex, AnnexKind, RequiredAnnex
from app.audit import EventKind, record_event
from app.auth.models import User
from app.consortia.models import Consortium, Partner
from app.database import utcnow
from app.errors import Invalid, NotAllowed, NotFound
from app.extensions import db
from app.permissions import can_set_required_annexes, can_upload_annex
from app.storage import store_bytes

KIND_ORDER = {kind: index for index, kind in enumerate(AnnexKind)}
# Several co-funders each write a letter, and "other" holds anything: a new one adds, it replaces nothing.
ADDITIVE_KINDS = frozenset({AnnexKind.COFUNDING_LETTER, AnnexKind.OTHER})
# "Other" cannot be required: nobody would know what to provide.
REQUIRABLE_KINDS = tuple(kind for kind in AnnexKind if kind != AnnexKind.OTHER)
TITLE_MAX_CHARS = 200


class AnnexTooLarge(Invalid):
    """The file is bigger than the annexes' limit."""

    status_code = 413


def _annex_order(annex: Annex) -> tuple[int, datetime, int]:
    return KIND_ORDER[annex.kind], annex.uploaded_at, annex.id


def current_annexes(consortium_id: int) -> dict[int, list[Annex]]:
    """Partner id → its current annexes (not superseded), ordered by kind then upload time (one query)."""
    annexes = db.session.scalars(
        select(Annex).where(Annex.consortium_id == consortium_id, Annex.superseded_at.is_(None))
    ).all()
    by_partner: dict[int, list[Annex]] = defaultdict(list)
    for annex in sorted(annexes, key=_annex_order):
        by_partner[annex.partner_id].append(annex)
    return dict(by_partner)


def required_kinds(consortium_id: int) -> list[AnnexKind]:
    """The kinds every active partner must provide, in AnnexKind order."""
    kinds = set(
        db.session.scalars(select(RequiredAnnex.kind).where(RequiredAnnex.consortium_id == consortium_id))
    )
    return [kind for kind in AnnexKind if kind in kinds]


def kind_from(value: str | AnnexKind | None) -> AnnexKind:
    """The kind named by a form value, or `Invalid` with the list of kinds."""
    try:
        return AnnexKind(value or "")
    except ValueError:
        raise Invalid(
            _(
                "Type de pièce inconnu : choisissez-en un dans la liste (%(kinds)s).",
                kinds=", ".join(_(label) for label in ANNEX_KIND_LABELS.values()),
            )
        ) from None


def annex_in(consortium: Consortium, annex_id: int) -> Annex:
    """One annex of the consortium (current or old); NotFound for another consortium's."""
    annex = db.session.get(Annex, annex_id)
    if annex is None or annex.consortium_id != consortium.id:
        raise NotFound(_("Cette pièce n'existe pas dans ce consortium."))
    return annex


# --- pages -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnnexEntry:
    """A current annex with who uploaded it and its older versions (newest first)."""

    annex: Annex
    uploaded_by: User | None
    history: tuple[tuple[Annex, User | None], ...]

    @property
    def replaceable_on_demand(self) -> bool:
        """Additive kinds are replaced only when asked (a new upload adds one)."""
        return self.annex.kind in ADDITIVE_KINDS


@dataclass(frozen=True)
class PartnerAnnexes:
    """One partner's annexes as its page and the overview show them."""

    partner: Partner
    required: tuple[tuple[AnnexKind, AnnexEntry | None], ...]  # every required kind, provided or not
    others: tuple[AnnexEntry, ...]  # current annexes of kinds not required

    @property
    def missing(self) -> list[AnnexKind]:
        return [kind for kind, entry in self.required if entry is None]

    @property
    def entries(self) -> list[AnnexEntry]:
        """Every current annex, in kind order."""
        provided = [entry for _kind, entry in self.required if entry is not None]
        return sorted([*provided, *self.others], key=lambda entry: _annex_order(entry.annex))


def _history_chain(annex: Annex, replaced: dict[int, list[Annex]]) -> list[Annex]:
    chain: list[Annex] = []
    pending = list(replaced.get(annex.id, []))
    while pending:
        older = pending.pop(0)
        chain.append(older)
        pending.extend(replaced.get(older.id, []))
    return sorted(chain, key=lambda old: (old.uploaded_at, old.id), reverse=True)


def annexes_of(consortium: Consortium, partners: list[Partner]) -> list[PartnerAnnexes]:
    """The annexes of these partners, current ones with their history, and what each still misses."""
    partner_ids = [partner.id for partner in partners]
    everything = (
        db.session.scalars(
            select(Annex).where(Annex.consortium_id == consortium.id, Annex.partner_id.in_(partner_ids))
        ).all()
        if partner_ids
        else []
    )
    user_ids = {annex.uploaded_by_id for annex in everything if annex.uploaded_by_id is not None}
    users = (
        {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(user_ids)))}
        if user_ids
        else {}
    )
    replaced: dict[int, list[Annex]] = defaultdict(list)
    current: dict[int, list[Annex]] = defaultdict(list)
    for annex in sorted(everything, key=_annex_order):
        if annex.superseded_at is None:
            current[annex.partner_id].append(annex)
        elif annex.superseded_by_id is not None:
            replaced[annex.superseded_by_id].append(annex)

    def entry(annex: Annex) -> AnnexEntry:
        history = tuple((old, users.get(old.uploaded_by_id or 0)) for old in _history_chain(annex, replaced))
        return AnnexEntry(annex, users.get(annex.uploaded_by_id or 0), history)

    required = required_kinds(consortium.id)
    result = []
    for partner in partners:
        entries = [entry(annex) for annex in current[partner.id]]
        first_of_kind: dict[AnnexKind, AnnexEntry] = {}
        for item in entries:
            first_of_kind.setdefault(item.annex.kind, item)
        shown_as_required = {id(first_of_kind[kind]) for kind in required if kind in first_of_kind}
        result.append(
            PartnerAnnexes(
                partner=partner,
                required=tuple((kind, first_of_kind.get(kind)) for kind in required),
                others=tuple(item for item in entries if id(item) not in shown_as_required),
            )
        )
    return result


# --- changes ---------------------------------------------------------------------------------------


def upload_annex(
    partner: Partner,
    *,
    kind: str | AnnexKind | None,
    data: bytes,
    filename: str,
    title: str = "",
    replaces: Annex | None = None,
    max_bytes: int,
    by: User,
) -> Annex:
    """Keep a partner's new annex; it replaces the current one of its kind, which is kept as history.

    Co-funding letters and other annexes add to the current ones unless `replaces` names the one to replace.
    """
    if not can_upload_annex(by, partner):
        raise NotAllowed(
            _(
                "Seules la coordination et les personnes de ce membre (direction, contribution) "
                "déposent ses pièces."
            )
        )
    if not partner.is_active:
        raise Invalid(_("Ce membre s'est retiré du consortium : il ne dépose plus de pièces."))
    if replaces is not None:
        if replaces.partner_id != partner.id or replaces.superseded_at is not None:
            raise Invalid(
                _("La pièce à remplacer n'est plus la version en cours de ce membre : rechargez la page.")
            )
        kind = replaces.kind
    annex_kind = kind_from(kind)
    if len(data) > max_bytes:
        raise AnnexTooLarge(
            _(
                "Le fichier dépasse la taille maximale d'une pièce (%(max)s) : réduisez-le "
                "(PDF compressé, image moins lourde) puis déposez-le à nouveau.",
                max=size_label(max_bytes),
            )
        )
    detected = files.detect_type(data)
    clean_name = files.clean_filename(filename, detected)
    if replaces is None and annex_kind not in ADDITIVE_KINDS:
        replaces = db.session.scalar(
            select(Annex)
            .where(Annex.partner_id == partner.id, Annex.kind == annex_kind, Annex.superseded_at.is_(None))
            .order_by(Annex.uploaded_at.desc(), Annex.id.desc())
            .limit(1)
        )
    stored = store_bytes(data, detected.content_type)
    annex = Annex(
        consortium_id=partner.consortium_id,
        partner_id=partner.id,
        kind=annex_kind,
        title=files.clean_title(title, TITLE_MAX_CHARS),
        filename=clean_name,
        file_id=stored.id,
        content_type=detected.content_type,
        size=len(data),
        uploaded_by_id=by.id,
        uploaded_at=utcnow(),
    )
    db.session.add(annex)
    db.session.flush()
    if replaces is not None:
        replaces.superseded_at = annex.uploaded_at
        replaces.superseded_by_id = annex.id
    record_event(
        EventKind.ANNEX_UPLOADED,
        actor_id=by.id,
        consortium_id=partner.consortium_id,
        partner_id=partner.id,
        annex_id=annex.id,
        annex_kind=annex_kind.value,
        filename=clean_name,
        content_type=detected.content_type,
        size=len(data),
        replaced_annex_id=replaces.id if replaces is not None else None,
    )
    db.session.flush()
    return annex


def set_required_kinds(consortium: Consortium, kinds: list[str], *, by: User) -> bool:
    """Make exactly these kinds required of every active partner; True when something changed."""
    if not can_set_required_annexes(by, consortium):
        raise NotAllowed(_("Seule la coordination choisit les pièces exigées."))
    wanted: set[AnnexKind] = set()
    for value in kinds:
        kind = kind_from(value)
        if kind not in REQUIRABLE_KINDS:
            raise Invalid(_("« Autre pièce » ne peut pas être exigée : choisissez un type précis."))
        wanted.add(kind)
    old = required_kinds(consortium.id)
    new = [kind for kind in AnnexKind if kind in wanted]
    if old == new:
        return False
    removed = [kind for kind in old if kind not in new]
    if removed:
        db.session.execute(
            delete(RequiredAnnex)
            .where(RequiredAnnex.consortium_id == consortium.id, RequiredAnnex.kind.in_(removed))
            .execution_options(content_of=consortium.id)
        )
    for kind in new:
        if kind not in old:
            db.session.add(RequiredAnnex(consortium_id=consortium.id, kind=kind))
    record_event(
        EventKind.ANNEX_REQUIREMENTS_CHANGED,
        actor_id=by.id,
        consortium_id=consortium.id,
        old=[kind.value for kind in old],
        new=[kind.value for kind in new],
    )
    db.session.flush()
    return True


def size_label(size: int) -> str:
    """A file size in French units: « 820 Ko », « 10 Mo »."""
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} Ko"
    megabytes = size / (1024 * 1024)
    text = f"{megabytes:.1f}".rstrip("0").rstrip(".").replace(".", ",")
    return f"{text} Mo"
