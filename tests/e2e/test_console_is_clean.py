"""In a real browser: the main pages of every role load without a single console error, failed
request or script error (a CSP refusal, a missing favicon or a broken script would show here)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from playwright.sync_api import ConsoleMessage, Page, Request, Response, expect

from app.consortia.models import Role
from app.extensions import db
from tests.factories import PASSWORD, make_consortium, make_member, make_user

pytestmark = pytest.mark.e2e

SLUG = "cap-remob-idf"
COORDINATOR_PAGES = [
    "/",
    f"/consortia/{SLUG}",
    f"/consortia/{SLUG}/suivi",
    f"/consortia/{SLUG}/redaction",
    f"/consortia/{SLUG}/redaction/diagnostic",
    f"/consortia/{SLUG}/chapitres",
    f"/consortia/{SLUG}/chapitres/diagnostic/historique",
    f"/consortia/{SLUG}/membres",
    f"/consortia/{SLUG}/membres/plie-sevran/budget",
    f"/consortia/{SLUG}/membres/plie-sevran/indicateurs",
    f"/consortia/{SLUG}/membres/plie-sevran/personnel",
    f"/consortia/{SLUG}/plan-de-financement",
    f"/consortia/{SLUG}/dossier",
    f"/consortia/{SLUG}/activite",
    f"/consortia/{SLUG}/annexes",
    f"/consortia/{SLUG}/invitations",
    f"/consortia/{SLUG}/candidatures",
    f"/consortia/{SLUG}/echeances",
    f"/consortia/{SLUG}/parametres",
    f"/consortia/{SLUG}/signatures",
    "/consortia/nouveau",
    "/compte/notifications",
]
DIRECTOR_PAGES = [
    f"/consortia/{SLUG}",
    f"/consortia/{SLUG}/redaction/role_membre",
    f"/consortia/{SLUG}/membres/plie-sevran/budget",
]
ADMIN_PAGES = ["/admin/courriels"]
ANONYMOUS_PAGES = ["/connexion", f"/candidature/{SLUG}"]


@dataclass
class Problems:
    """What went wrong while the pages loaded, each with the page it happened on."""

    seen: list[str] = field(default_factory=list)
    where: str = ""

    def watch(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.seen.append(f"{self.where} : erreur de script : {error}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.seen.append(f"{self.where} : console : {message.text}")

    def _failed(self, request: Request) -> None:
        if request.failure == "net::ERR_ABORTED":
            return  # cancelled by the next navigation (a favicon still loading), not a failure
        self.seen.append(f"{self.where} : requête échouée : {request.url} ({request.failure})")

    def _response(self, response: Response) -> None:
        if response.status >= 400:
            self.seen.append(f"{self.where} : {response.status} pour {response.url}")


def log_in(page: Page, email: str) -> None:
    page.goto("/connexion")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.locator("main")).to_be_visible()


def visit(page: Page, problems: Problems, paths: list[str]) -> None:
    for path in paths:
        problems.where = path
        page.goto(path)
        page.wait_for_load_state("networkidle")


def test_the_main_pages_of_every_role_log_no_console_error(page: Page) -> None:
    consortium = make_consortium()
    coordinator = make_member(consortium, Role.COORDINATOR, "urtie-idf")
    director = make_member(consortium, Role.DIRECTOR, "plie-sevran")
    admin = make_user("admin@exemple.fr", admin=True)
    who = [
        (coordinator.email, COORDINATOR_PAGES),
        (director.email, DIRECTOR_PAGES),
        (admin.email, ADMIN_PAGES),
    ]
    db.session.commit()  # no transaction left open while the browser writes (SQLite locks)
    problems = Problems()
    problems.watch(page)

    visit(page, problems, ANONYMOUS_PAGES)
    for email, paths in who:
        page.context.clear_cookies()
        problems.where = "/connexion"
        log_in(page, email)
        visit(page, problems, paths)

    assert problems.seen == []
