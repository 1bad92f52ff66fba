"""Natter: the app factory."""

import logging
from pathlib import Path

from flask import Flask, jsonify, redirect, request, session, url_for
from flask_babel import gettext

from app import commands, i18n, security_headers, static_assets
from app.config import Settings
from app.extensions import csrf, db, limiter, login_manager, migrate
from app.services import events, metrics
from app.services.accounts import sessions
from app.trusted_proxies import TrustedProxies

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def create_app(settings: Settings | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    if settings is None:
        settings = Settings.from_env(instance_path=app.instance_path)
    app.config.update(settings.flask_config())
    _ensure_data_folders(settings)
    logging.basicConfig(level=logging.INFO)

    if settings.behind_proxy:
        app.wsgi_app = TrustedProxies(app.wsgi_app, settings.trusted_proxies)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    _init_login(app)
    i18n.init_app(app)
    events.init_app(app)
    security_headers.init_app(app)
    metrics.init_app(app)
    static_assets.init_app(app)

    from app.routes import admin, auth, chat, errors, main, profile, register_converters, users

    register_converters(app)
    app.register_blueprint(main.bp)
    app.register_blueprint(auth.bp, url_prefix="/api")
    app.register_blueprint(profile.bp, url_prefix="/api")
    app.register_blueprint(users.bp, url_prefix="/api/users")
    app.register_blueprint(chat.bp, url_prefix="/api/chat")
    app.register_blueprint(admin.bp, url_prefix="/api/admin")
    app.register_blueprint(admin.pages)
    commands.register(app)
    errors.register(app)
    return app


def _ensure_data_folders(settings: Settings) -> None:
    """The SQLite file's folder and the upload folder: the only places the app writes."""
    if settings.database_url.startswith("sqlite:///"):
        Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True
        )
    (Path(settings.upload_dir) / "chat").mkdir(parents=True, exist_ok=True)


def _renew_session_cookie() -> None:
    session.modified = True


def _init_login(app: Flask) -> None:
    login_manager.init_app(app)

    @login_manager.user_loader
    def load_user(user_id: str):
        return sessions.user_for(
            user_id,
            session.get(sessions.COOKIE_KEY),
            app.permanent_session_lifetime,
            on_touch=_renew_session_cookie,
        )

    @login_manager.unauthorized_handler
    def unauthorized():
        if request.path.startswith("/api/"):
            return jsonify(error=gettext("log in first"), code="login_required"), 401
        return redirect(url_for("main.login", next=request.path))
