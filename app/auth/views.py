"""Login and logout."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from app.auth import services
from app.auth.forms import LoginForm
from app.extensions import db
from app.security import checks_csrf_in_form, is_safe_next, public, start_session

bp = Blueprint("auth", __name__)


def _client_ip() -> str:
    return request.remote_addr or "unknown"


@bp.route("/connexion", methods=["GET", "POST"])
@public
@checks_csrf_in_form
def login() -> ResponseReturnValue:
    """Log in with e-mail and password."""
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
        if current_user.is_authenticated:
            return redirect(url_for("consortia.index"))
        return render_template("auth/login.html", form=form)
    status = 422
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data or "", form.password.data or "", ip=_client_ip())
        except services.Throttled as error:
            form.form_errors.append(str(error))
            status = 429
        except services.LoginRefused as error:
            db.session.commit()  # the failure is counted even though the login fails
            form.form_errors.append(str(error))
        else:
            start_session(user)
            db.session.commit()
            target = form.next.data if is_safe_next(form.next.data) else url_for("consortia.index")
            return redirect(target)
    elif form.csrf_token.errors:
        status = 400
        form.form_errors.append(_("Votre session a expiré. Vos saisies sont conservées : validez à nouveau."))
    form.password.data = ""
    return render_template("auth/login.html", form=form), status


@bp.post("/deconnexion")
def logout() -> ResponseReturnValue:
    """Log out everywhere: every copy of the session cookie stops working."""
    services.logout(current_user._get_current_object())
    db.session.commit()
    logout_user()
    flash(_("Vous êtes déconnecté."), "info")
    return redirect(url_for("auth.login"))
