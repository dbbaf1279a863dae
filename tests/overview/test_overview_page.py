"""The consortium overview (/consortia/<slug>): what each person sees, and its cost in queries."""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from app.budget.models import AmountKind, BudgetAmount
from app.budget.services import consolidation_of
from app.consortia.models import Consortium, PartnerStatus, Role
from app.consortia.services import partner_by_code
from app.extensions import db
from app.money import format_eur
from app.templating import french_integer
from tests.factories import login, make_consortium, make_member, make_user

# « 5 822 968,75 € »: narrow no-break spaces between thousands, a comma, a no-break space before €.
FRENCH_EUROS = re.compile(r"\A[0-9]{1,3}(\u202f[0-9]{3})*,[0-9]{2}\u00a0€\Z")
EXPORT_LINK = "Télécharger le fichier d'échange (JSON)"


class Overview(HTMLParser):
    """The text a reader sees on a page: all of it, each partner row, each finding, each link."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.rows: dict[str, str] = {}  # partner code → the row's text
        self.findings: list[tuple[str, str]] = []  # (code, text)
        self.links: list[str] = []
        self._chunks: list[str] = []
        self._open: list[tuple[str, str | None, list[str]]] = []  # (tag, key, chunks) being read
        self._skip = 0
        self.feed(source)
        self.close()
        self.text = _spaces(" ".join(self._chunks))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in ("script", "style", "title"):
            self._skip += 1
        elif tag == "tr" and "data-partner" in attributes:
            self._open.append((tag, attributes["data-partner"], []))
        elif tag == "li" and "data-code" in attributes:
            self._open.append((tag, attributes["data-code"], []))
        elif tag == "a":
            self._open.append((tag, None, []))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "title"):
            self._skip -= 1
        elif self._open and self._open[-1][0] == tag:
            _tag, key, chunks = self._open.pop()
            text = _spaces(" ".join(chunks))
            if tag == "tr" and key is not None:
                self.rows[key] = text
            elif tag == "li" and key is not None:
                self.findings.append((key, text))
            elif tag == "a":
                self.links.append(text)

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self._chunks.append(data)
        for _tag, _key, chunks in self._open:
            chunks.append(data)


def _spaces(text: str) -> str:
    """Fold the spaces of the HTML source, keeping the no-break ones that French formatting relies on."""
    return re.sub(r"[ \t\r\n]+", " ", text).strip()


def overview(client: FlaskClient, slug: str) -> Overview:
    response = client.get(f"/consortia/{slug}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return Overview(response.get_data(as_text=True))


def consolidated(consortium: Consortium) -> Any:
    return consolidation_of(consortium).consolidation


@pytest.fixture
def consortium() -> Consortium:
    """The demo consortium: 12 partners, URTIE Île-de-France as lead."""
    return make_consortium()


@pytest.fixture
def coordinator_client(client: FlaskClient, consortium: Consortium) -> FlaskClient:
    """The client logged in as the consortium's coordinator."""
    login(client, make_member(consortium, Role.COORDINATOR, "urtie-idf").email)
    return client


# --- queries ---------------------------------------------------------------------------------------


PARTNER_COUNTS = {
    "page": lambda response: len(Overview(response.get_data(as_text=True)).rows),
    "api": lambda response: len(response.get_json()["partners"]),
}


def logged_in_client(client: FlaskClient, consortium: Consortium, who: str) -> FlaskClient:
    """Another client like `client` (each request in its own app context, so nothing comes from the
    test's session), logged in as the consortium's coordinator or as a platform admin."""
    client = client.application.test_client()
    if who == "admin":
        user = make_user(f"admin-{consortium.slug}@exemple.fr", admin=True)
    else:
        user = make_member(
            consortium, Role.COORDINATOR, "urtie-idf", email=f"coordination-{consortium.slug}@exemple.fr"
        )
    login(client, user.email)
    return client


@pytest.mark.parametrize("who", ["coordinator", "admin"])
@pytest.mark.parametrize(
    ("kind", "path"), [("page", "/consortia/{slug}"), ("api", "/api/v1/consortia/{slug}")]
)
def test_overview_runs_as_many_queries_for_30_partners_as_for_3(
    client: FlaskClient, count_queries: Any, kind: str, path: str, who: str
) -> None:
    statements = {}
    for partners in (3, 30):
        consortium = make_consortium(partners, slug=f"{partners}-membres")
        member_client = logged_in_client(client, consortium, who)
        count_queries.statements.clear()
        response = member_client.get(path.format(slug=consortium.slug))
        statements[partners] = list(count_queries.statements)
        assert response.status_code == 200
        assert PARTNER_COUNTS[kind](response) == partners

    assert len(statements[30]) == len(statements[3]), query_summary(statements)


def query_summary(statements: dict[int, list[str]]) -> str:
    """Each run's statements, grouped by their beginning, to spot the one repeated per partner."""
    lines = []
    for partners, run in statements.items():
        lines.append(f"{len(run)} requêtes pour {partners} membres :")
        shapes = Counter(" ".join(statement.split())[:100] for statement in run)
        lines.extend(f"  {count} × {shape}" for shape, count in shapes.items())
    return "\n".join(lines)


# --- what the page shows ---------------------------------------------------------------------------


def test_overview_shows_every_partner_by_name(
    coordinator_client: FlaskClient, consortium: Consortium
) -> None:
    names = {partner.code: partner.name for partner in consortium.partners}

    page = overview(coordinator_client, consortium.slug)

    assert len(names) == 12
    assert list(page.rows) == list(names), "le tableau doit montrer chaque membre, dans l'ordre"
    for code, name in names.items():
        assert page.rows[code].startswith(name)


def test_overview_shows_the_consolidated_total_cost_in_french(
    coordinator_client: FlaskClient, consortium: Consortium
) -> None:
    total_cost = format_eur(consolidated(consortium).total_cost)

    page = overview(coordinator_client, consortium.slug)

    assert FRENCH_EUROS.match(total_cost), total_cost
    assert f"Coût total {total_cost}" in page.text
    assert re.search(rf"Total des membres actifs [0-9\u202f]+ {total_cost}", page.text)


def test_overview_marks_the_lead_partner_and_only_it_as_chef_de_file(
    coordinator_client: FlaskClient, consortium: Consortium
) -> None:
    page = overview(coordinator_client, consortium.slug)

    marked = [code for code, row in page.rows.items() if "Chef de file" in row]
    assert marked == [consortium.lead_partner.code] == ["urtie-idf"]


def test_withdrawn_partner_is_marked_retire_and_left_out_of_the_totals(
    coordinator_client: FlaskClient, consortium: Consortium
) -> None:
    before = consolidated(consortium)
    atout = next(totals for totals in before.partners if totals.id == "atout-plie")
    assert atout.total_expenses > 0
    partner = partner_by_code(consortium, "atout-plie")
    assert partner is not None
    partner.status = PartnerStatus.WITHDRAWN
    db.session.commit()

    page = overview(coordinator_client, consortium.slug)

    assert "Retiré" in page.rows["atout-plie"]
    assert [code for code, row in page.rows.items() if "Retiré" in row] == ["atout-plie"]
    assert f"Coût total {format_eur(before.total_cost - atout.total_expenses)}" in page.text
    assert f"Participants {french_integer(before.participants - atout.participants)}" in page.text
    assert "Membres actifs 11 sur 12 au total" in page.text
    assert not any("Atout PLIE" in text for _code, text in page.findings)


def test_unbalanced_partner_year_is_listed_as_an_error_to_fix(
    coordinator_client: FlaskClient, consortium: Consortium
) -> None:
    partner = partner_by_code(consortium, "atout-plie")
    assert partner is not None
    amount = db.session.scalars(
        select(BudgetAmount)
        .where(
            BudgetAmount.partner_id == partner.id,
            BudgetAmount.year == 2020,
            BudgetAmount.kind == AmountKind.RESOURCE,
            BudgetAmount.amount > 0,
        )
        .order_by(BudgetAmount.code)
    ).first()
    assert amount is not None
    amount.amount += Decimal("1000.00")
    db.session.commit()

    page = overview(coordinator_client, consortium.slug)

    # The demo already has one unbalanced year (Initiatives 77, 2022): this adds a second.
    assert "2 erreurs à corriger avant le dépôt" in page.text
    errors = [text for code, text in page.findings if code == "unbalanced_year" and "Atout PLIE" in text]
    assert len(errors) == 1
    assert errors[0].startswith("Erreur : Atout PLIE, 2020 : le plan de financement n'est pas équilibré")
    assert "les ressources dépassent les dépenses de 1\u202f000,00\u00a0€" in errors[0]
    assert "Déséquilibré (2020)" in page.rows["atout-plie"]
    badges = next(text for text in page.links if "avertissement" in text)
    assert badges.startswith("2 erreurs ")


@pytest.mark.parametrize(("role", "sees_export"), [(Role.READER, False), (Role.COORDINATOR, True)])
def test_only_coordination_gets_the_json_export_link(
    client: FlaskClient, consortium: Consortium, role: Role, sees_export: bool
) -> None:
    member = make_member(consortium, role, "urtie-idf" if role == Role.COORDINATOR else None)
    login(client, member.email)

    page = overview(client, consortium.slug)

    assert len(page.rows) == 12
    assert "Coût total" in page.text
    assert (EXPORT_LINK in page.links) is sees_export
    assert (f"/consortia/{consortium.slug}/export.json" in page.source) is sees_export


def test_non_member_gets_not_found_as_if_the_consortium_did_not_exist(
    client: FlaskClient, consortium: Consortium
) -> None:
    login(client, make_user("dehors@exemple.fr").email)

    page = client.get(f"/consortia/{consortium.slug}")
    missing = client.get("/consortia/nexiste-pas")
    api = client.get(f"/api/v1/consortia/{consortium.slug}")

    assert page.status_code == missing.status_code == api.status_code == 404
    shown = Overview(page.get_data(as_text=True))
    assert shown.text == Overview(missing.get_data(as_text=True)).text
    assert "vous n'y avez pas accès" in shown.text
    assert consortium.title not in shown.text
    assert not shown.rows
    assert api.get_json()["message"] == "Ce consortium n'existe pas ou vous n'y avez pas accès."


def test_the_overview_seen_again_after_a_change_shows_it_and_each_person_their_own_links(
    client: FlaskClient, consortium: Consortium
) -> None:
    """The figures' part of the page is rendered once per content version: a second look after a
    change shows the change, and a reader looking after a coordinator does not get the export link."""
    coordinator = logged_in_client(client, consortium, "coordinator")
    reader_client = client.application.test_client()
    login(reader_client, make_member(consortium, Role.READER, None).email)
    first = overview(coordinator, consortium.slug)
    assert EXPORT_LINK in first.links
    assert EXPORT_LINK not in overview(reader_client, consortium.slug).links

    partner = partner_by_code(consortium, "atout-plie")
    assert partner is not None
    partner.status = PartnerStatus.WITHDRAWN
    consortium.title = "Un titre revu la veille du dépôt"
    db.session.commit()

    again = overview(coordinator, consortium.slug)
    assert "Retiré" in again.rows["atout-plie"]
    assert "Membres actifs 11 sur 12 au total" in again.text
    assert "Un titre revu la veille du dépôt" in again.text
    assert EXPORT_LINK not in overview(reader_client, consortium.slug).links
