"""Consortio: co-building one application to a call for projects."""

from __future__ import annotations

from flask import Flask, Response, current_app, send_from_directory
from werkzeug.middleware.proxy_fix import ProxyFix

from app.security import public
from config import Config, config_from_environment


def create_app(config: Config | type[Config] | None = None) -> Flask:
    """Build the application: extensions, blueprints, error pages and commands; no I/O here."""
    app = Flask(__name__, template_folder="../templates", static_folder="../static")
    app.config.from_object(config if config is not None else config_from_environment())

    from app import (
        content_version,
        models,  # noqa: F401  (every model registered on the metadata)
    )
    from app.extensions import babel, csrf, db, login_manager, migrate

    db.init_app(app)
    content_version.install()
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app)
    login_manager.init_app(app)

    from app import cli, errors_pages, security, templating
    from app.activity.views import bp as activity_bp
    from app.annexes.views import bp as annexes_bp
    from app.api.views import bp as api_bp
    from app.auth.views import bp as auth_bp
    from app.budget.views import bp as budget_bp
    from app.commitments import sign_off_views  # noqa: F401  (its routes)
    from app.commitments.views import bp as commitments_bp
    from app.consortia.views import bp as consortia_bp
    from app.coordination.views import bp as coordination_bp
    from app.dossier.views import bp as dossier_bp
    from app.exchange.views import bp as exchange_bp
    from app.invitations.views import bp as invitations_bp
    from app.mail.views import bp as mail_bp
    from app.members.views import bp as members_bp
    from app.notifications.views import bp as notifications_bp
    from app.opening.views import bp as opening_bp
    from app.overview.views import bp as overview_bp
    from app.sections import editing_views, history_views, plan_views  # noqa: F401  (their routes)
    from app.sections.blueprint import bp as sections_bp
    from app.volunteering.views import bp as volunteering_bp

    security.init_app(app)
    templating.init_app(app)
    errors_pages.init_app(app)
    cli.init_app(app)
    app.register_blueprint(auth_bp)
    app.register_blueprint(consortia_bp)
    app.register_blueprint(opening_bp)
    app.register_blueprint(sections_bp)
    app.register_blueprint(overview_bp)
    app.register_blueprint(budget_bp)
    app.register_blueprint(exchange_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(volunteering_bp)
    app.register_blueprint(invitations_bp)
    app.register_blueprint(mail_bp)
    app.register_blueprint(members_bp)
    app.register_blueprint(commitments_bp)
    app.register_blueprint(dossier_bp)
    app.register_blueprint(annexes_bp)
    app.register_blueprint(coordination_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(activity_bp)
    app.add_url_rule("/favicon.ico", "favicon", _favicon)
    if app.config["TRUSTED_PROXIES"]:
        # Behind a reverse proxy, the client address (login throttling) comes from X-Forwarded-For.
        proxies = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]
    return app


@public
def _favicon() -> Response:
    """Browsers ask /favicon.ico whatever the page says: the icon, cached for a day."""
    return send_from_directory(current_app.static_folder or "", "favicon.ico", max_age=86400)
