"""Throttling of login guesses, counted in the database per account and per address (row A9)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, insert, select
from werkzeug.test import TestResponse

from app import create_app
from app.auth import services as accounts
from app.auth.models import LoginFailure
from app.extensions import db
from config import Config, TestConfig
from tests.factories import PASSWORD, make_user

WRONG = "pas-le-bon-mot-de-passe"
ACCOUNT_THROTTLED = re.compile(
    r"Trop de tentatives pour ce compte\. Réessayez dans (\d+) (secondes?|minutes?), "
    r"ou demandez à la coordination de réinitialiser votre mot de passe\."
)
NETWORK_THROTTLED = re.compile(
    r"Trop de tentatives de connexion depuis votre réseau\. Réessayez dans (\d+) (secondes?|minutes?)\."
)


def attempt(client: FlaskClient, email: str, password: str, ip: str = "127.0.0.1") -> TestResponse:
    """One login attempt through the form, from the given address."""
    environ = {"REMOTE_ADDR": ip}
    page = client.get("/connexion", environ_base=environ).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token
    return client.post(
        "/connexion",
        data={"email": email, "password": password, "csrf_token": token.group(1)},
        environ_base=environ,
    )


def alert(response: TestResponse) -> str:
    found = re.findall(
        r'<div class="alert alert-danger" role="alert">(.*?)</div>', response.get_data(as_text=True)
    )
    assert len(found) == 1, response.get_data(as_text=True)
    return html.unescape(found[0])


def wait_of(pattern: re.Pattern[str], message: str) -> tuple[str, str]:
    """The wait announced by a throttling message: ("30", "secondes")."""
    match = pattern.fullmatch(message)
    assert match, message
    return match.group(1), match.group(2)


def seconds_announced(pattern: re.Pattern[str], message: str) -> int:
    """The wait of a throttling message in seconds (the clock may have ticked during a slow run)."""
    number, unit = wait_of(pattern, message)
    return int(number) * (60 if unit.startswith("minute") else 1)


def failures(**where: str) -> int:
    query = select(func.count()).select_from(LoginFailure)
    for column, value in where.items():
        query = query.where(getattr(LoginFailure, column) == value)
    return db.session.scalar(query) or 0


def add_failures(count: int, *, at: datetime, email: str | None = None, ip: str = "198.51.100.7") -> None:
    """`count` recorded failures at a given time (distinct accounts unless `email` is given)."""
    db.session.execute(
        insert(LoginFailure),
        [{"email": email or f"compte-{n}@exemple.fr", "ip": ip, "at": at} for n in range(count)],
    )
    db.session.commit()


def age_failures(seconds: int) -> None:
    """Move every recorded failure `seconds` into the past, as if time had passed."""
    for failure in db.session.scalars(select(LoginFailure)):
        failure.at = failure.at - timedelta(seconds=seconds)
    db.session.commit()


def test_default_limits_are_the_documented_ones(app: Flask) -> None:
    """The tests below use these real defaults unless they say otherwise."""
    assert Config.LOGIN_FAILURES_PER_ACCOUNT == app.config["LOGIN_FAILURES_PER_ACCOUNT"] == 5
    assert Config.LOGIN_FAILURES_PER_IP == app.config["LOGIN_FAILURES_PER_IP"] == 50
    assert Config.LOGIN_FAILURE_WINDOW_SECONDS == app.config["LOGIN_FAILURE_WINDOW_SECONDS"] == 900


# --- per account --------------------------------------------------------------------------------------


def test_twenty_bad_passwords_throttle_the_account_with_the_wait_shown(client: FlaskClient) -> None:
    make_user("anne@exemple.fr")
    answers = [attempt(client, "anne@exemple.fr", WRONG) for _ in range(20)]
    assert [r.status_code for r in answers] == [422] * 5 + [429] * 15
    assert {alert(r) for r in answers[:5]} == {"Adresse e-mail ou mot de passe incorrect."}
    for response in answers[5:]:
        assert 25 <= seconds_announced(ACCOUNT_THROTTLED, alert(response)) <= 30
    # Throttled attempts are not checked, so they are not counted either.
    assert failures(email="anne@exemple.fr") == 5


def test_throttled_account_refuses_even_the_right_password_but_says_how_long(client: FlaskClient) -> None:
    """Never a silent lockout: the real user is told to wait, and for how long, and keeps the e-mail."""
    make_user("anne@exemple.fr")
    for _ in range(5):
        attempt(client, "anne@exemple.fr", WRONG)
    response = attempt(client, "anne@exemple.fr", PASSWORD)
    assert response.status_code == 429
    assert ACCOUNT_THROTTLED.fullmatch(alert(response))
    assert 'value="anne@exemple.fr"' in response.get_data(as_text=True)
    assert client.get("/").headers["Location"].startswith("/connexion")


def test_account_opens_again_once_the_wait_is_over(client: FlaskClient) -> None:
    make_user("anne@exemple.fr")
    for _ in range(5):
        attempt(client, "anne@exemple.fr", WRONG)
    age_failures(31)
    response = attempt(client, "anne@exemple.fr", PASSWORD)
    assert response.headers["Location"] == "/"
    assert failures(email="anne@exemple.fr") == 0, "a successful login clears the account's counter"


def test_wait_doubles_with_each_failure_beyond_the_limit(client: FlaskClient) -> None:
    make_user("anne@exemple.fr")
    for _ in range(5):
        attempt(client, "anne@exemple.fr", WRONG)
    age_failures(31)
    assert attempt(client, "anne@exemple.fr", WRONG).status_code == 422  # the 6th failure
    assert (
        55 <= seconds_announced(ACCOUNT_THROTTLED, alert(attempt(client, "anne@exemple.fr", PASSWORD))) <= 60
    )
    age_failures(61)
    assert attempt(client, "anne@exemple.fr", WRONG).status_code == 422  # the 7th
    assert wait_of(ACCOUNT_THROTTLED, alert(attempt(client, "anne@exemple.fr", PASSWORD))) == ("2", "minutes")


def test_wait_never_exceeds_the_window(app: Flask) -> None:
    add_failures(200, at=datetime.now(UTC), email="anne@exemple.fr")
    with pytest.raises(accounts.Throttled) as raised:
        accounts.authenticate("anne@exemple.fr", PASSWORD, ip="203.0.113.1")
    assert wait_of(ACCOUNT_THROTTLED, str(raised.value)) == ("15", "minutes")


def test_failures_older_than_the_window_are_forgotten(client: FlaskClient) -> None:
    make_user("anne@exemple.fr")
    add_failures(20, at=datetime.now(UTC) - timedelta(minutes=16), email="anne@exemple.fr")
    assert attempt(client, "anne@exemple.fr", PASSWORD).headers["Location"] == "/"


def test_successful_login_resets_the_account_counter(client: FlaskClient) -> None:
    make_user("anne@exemple.fr")
    for _ in range(4):
        attempt(client, "anne@exemple.fr", WRONG)
    assert attempt(client, "anne@exemple.fr", PASSWORD).headers["Location"] == "/"
    client.post("/deconnexion", data={"csrf_token": _meta_token(client)})
    answers = [attempt(client, "anne@exemple.fr", WRONG).status_code for _ in range(4)]
    assert answers == [422] * 4


def test_unknown_address_is_throttled_like_a_real_one(client: FlaskClient) -> None:
    """The throttle does not reveal which addresses have an account."""
    make_user("anne@exemple.fr")
    for _ in range(5):
        attempt(client, "anne@exemple.fr", WRONG)
        attempt(client, "inconnu@exemple.fr", WRONG)
    real = attempt(client, "anne@exemple.fr", WRONG)
    unknown = attempt(client, "inconnu@exemple.fr", WRONG)
    assert real.status_code == unknown.status_code == 429
    assert alert(real) == alert(unknown)


def test_account_counter_ignores_case_and_spaces_of_the_address(client: FlaskClient) -> None:
    make_user("anne@exemple.fr")
    for variant in [
        "anne@exemple.fr",
        "ANNE@exemple.fr",
        " Anne@Exemple.FR",
        "anne@EXEMPLE.FR ",
        "aNNe@exemple.fr",
    ]:
        attempt(client, variant, WRONG)
    assert attempt(client, "anne@exemple.fr", PASSWORD).status_code == 429


# --- per network address ----------------------------------------------------------------------------


def test_one_address_trying_many_accounts_gets_429(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """500 accounts from one IP, shortened: the limit is lowered to 10 to keep the test fast."""
    monkeypatch.setitem(client.application.config, "LOGIN_FAILURES_PER_IP", 10)
    make_user("anne@exemple.fr")
    answers = [attempt(client, f"compte-{n}@exemple.fr", WRONG, ip="203.0.113.9") for n in range(12)]
    assert [r.status_code for r in answers] == [422] * 10 + [429] * 2
    assert wait_of(NETWORK_THROTTLED, alert(answers[-1])) == ("15", "minutes")
    # Even the right password of a real account is held back from that address, with the wait shown...
    held = attempt(client, "anne@exemple.fr", PASSWORD, ip="203.0.113.9")
    assert held.status_code == 429
    assert NETWORK_THROTTLED.fullmatch(alert(held))
    # ...while another address is not affected.
    assert attempt(client, "anne@exemple.fr", PASSWORD, ip="192.0.2.44").headers["Location"] == "/"


def test_five_hundred_accounts_from_one_address_hit_the_default_limit(client: FlaskClient) -> None:
    """Real defaults: the 50th failure from an address in 15 minutes closes it; 500 keep it closed."""
    now = datetime.now(UTC)
    add_failures(49, at=now - timedelta(minutes=10), ip="203.0.113.9")
    assert attempt(client, "compte-49@exemple.fr", WRONG, ip="203.0.113.9").status_code == 422
    closed = attempt(client, "compte-50@exemple.fr", WRONG, ip="203.0.113.9")
    assert closed.status_code == 429
    # The oldest failure leaves the window in about 5 minutes, bringing the count under the limit.
    assert wait_of(NETWORK_THROTTLED, alert(closed)) == ("5", "minutes")

    add_failures(450, at=now - timedelta(minutes=1), ip="203.0.113.9")
    with pytest.raises(accounts.Throttled) as raised:
        accounts.authenticate("compte-500@exemple.fr", WRONG, ip="203.0.113.9")
    # 500 failures: 451 must leave the window, the last of them made a minute ago.
    assert wait_of(NETWORK_THROTTLED, str(raised.value)) == ("14", "minutes")
    assert failures(ip="203.0.113.9") == 500, "throttled attempts are not counted"


def test_address_opens_again_when_failures_leave_the_window(client: FlaskClient) -> None:
    make_user("anne@exemple.fr")
    add_failures(50, at=datetime.now(UTC) - timedelta(minutes=15, seconds=1), ip="203.0.113.9")
    assert attempt(client, "anne@exemple.fr", PASSWORD, ip="203.0.113.9").headers["Location"] == "/"


def test_short_waits_are_given_in_seconds(app: Flask) -> None:
    window = app.config["LOGIN_FAILURE_WINDOW_SECONDS"]
    add_failures(50, at=datetime.now(UTC) - timedelta(seconds=window - 20), ip="203.0.113.9")
    with pytest.raises(accounts.Throttled) as raised:
        accounts.authenticate("x@exemple.fr", WRONG, ip="203.0.113.9")
    number, unit = wait_of(NETWORK_THROTTLED, str(raised.value))
    assert unit == "secondes"
    assert 15 <= int(number) <= 20


# --- counters shared by every worker ------------------------------------------------------------------


@pytest.fixture
def second_worker(app: Flask) -> Iterator[Flask]:
    """Another application process on the same database, as a second gunicorn worker would be."""

    class Worker(TestConfig):
        SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]

    worker = create_app(Worker)
    yield worker
    with worker.app_context():
        db.session.remove()
        db.engine.dispose()


def test_failures_counted_by_one_worker_throttle_the_others(
    client: FlaskClient, second_worker: Flask
) -> None:
    make_user("anne@exemple.fr")
    db.session.commit()
    other = second_worker.test_client()
    for _ in range(5):
        assert attempt(other, "anne@exemple.fr", WRONG).status_code == 422
    assert attempt(client, "anne@exemple.fr", PASSWORD).status_code == 429


def _meta_token(client: FlaskClient) -> str:
    page = client.get("/").get_data(as_text=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert match
    return match.group(1)


def test_counters_are_rows_of_the_database(client: FlaskClient) -> None:
    attempt(client, " Anne@Exemple.FR ", WRONG, ip="203.0.113.9")
    row = db.session.scalars(select(LoginFailure)).one()
    assert (row.email, row.ip) == ("anne@exemple.fr", "203.0.113.9")
