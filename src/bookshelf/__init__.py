"""Bookshelf: a book catalogue on Flask."""

from __future__ import annotations

import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import click
from dotenv import load_dotenv
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from bookshelf.config import build_config, check_production_secret, prepare_data_paths
from bookshelf.database import add_read_bind
from bookshelf.extensions import babel, csrf, db, login_manager
from bookshelf.health import register_health_check
from bookshelf.http_cache import register_http_cache
from bookshelf.ids import IdConverter
from bookshelf.middleware import MethodOverrideMiddleware
from bookshelf.ratelimits import init_rate_limits
from bookshelf.security import register_security_headers

MIGRATIONS_DIR = str(Path(__file__).parent / "migrations")
SOURCE_CHECKOUT = Path(__file__).resolve().parents[2]


def instance_folder() -> str | None:
    """BOOKSHELF_INSTANCE_PATH, else `instance/` at the top of a source checkout.

    An installed package falls back to Flask's `<sys.prefix>/var/bookshelf-instance`, inside
    the virtualenv: production refuses that (see config.check_data_location).
    """
    if os.environ.get("BOOKSHELF_INSTANCE_PATH"):
        return os.environ["BOOKSHELF_INSTANCE_PATH"]
    if (SOURCE_CHECKOUT / "pyproject.toml").is_file():
        return str(SOURCE_CHECKOUT / "instance")
    return None  # installed as a package: Flask's default, <prefix>/var/bookshelf-instance


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    if test_config is None:
        load_dotenv()  # `flask` loads .env itself, gunicorn does not
    app = Flask(__name__, instance_path=instance_folder(), instance_relative_config=True)
    app.url_map.converters["id"] = IdConverter
    app.config.from_mapping(build_config(app.instance_path, app.debug))
    if test_config is not None:
        app.config.update(test_config)
    production = not (app.config["BOOKSHELF_DEVELOPMENT"] or app.testing)
    if production:
        check_production_secret(app.config["SECRET_KEY"])
    # Production refuses data inside a release or virtualenv before anything is written.
    prepare_data_paths(app.instance_path, app.config["SQLALCHEMY_DATABASE_URI"], production)
    app.config.setdefault("BOOKSHELF_VERSION", package_version())

    register_extensions(app)
    register_blueprints(app)
    register_commands(app)
    register_security_headers(app)
    register_http_cache(app)
    app.wsgi_app = MethodOverrideMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    register_health_check(app)  # after ProxyFix below has set the scheme, before anything else
    if app.config["TRUSTED_PROXIES"]:
        proxies = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]
    return app


def package_version() -> str:
    try:
        return version("bookshelf")
    except PackageNotFoundError:
        return "0+unknown"


def register_extensions(app: Flask) -> None:
    from flask_babel import get_locale, lazy_gettext

    from bookshelf import database
    from bookshelf.book_lines import with_lines
    from bookshelf.i18n import (
        LANGUAGES,
        format_date,
        format_integer,
        install_template_gettext,
        page_count,
        select_locale,
    )
    from bookshelf.isbn import hyphenated
    from bookshelf.models import Visitor
    from bookshelf.text import name_key
    from bookshelf.urls import template_url_for
    from bookshelf.users.sessions import load_user

    add_read_bind(app)  # before db.init_app, which creates the engines
    db.init_app(app)
    register_migrations(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    install_template_gettext(app)
    # The limiter object is shared by every app in the process and keeps the last app's
    # "enabled" flag as its default: say it for each app, or one app built with limits off
    # (a test, a load run) turns them off for the apps built after it.
    app.config.setdefault("RATELIMIT_ENABLED", True)
    init_rate_limits(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = lazy_gettext("Please sign in to do that.")
    login_manager.login_message_category = "warning"
    login_manager.anonymous_user = Visitor
    login_manager.user_loader(load_user)
    app.jinja_env.globals.update(
        current_locale=get_locale, languages=LANGUAGES, url_for=template_url_for
    )
    app.jinja_env.filters["dateformat"] = format_date
    app.jinja_env.filters["numberformat"] = format_integer  # in place of Flask-Babel's
    app.jinja_env.filters["pagecount"] = page_count
    app.jinja_env.filters["with_lines"] = with_lines
    app.jinja_env.filters["isbn"] = hyphenated
    app.jinja_env.filters["author_key"] = name_key
    database.register_connection_setup(app)


def register_migrations(app: Flask) -> None:
    """Flask-Migrate for the `flask` command and the tests only.

    Alembic and Mako cost every gunicorn worker about 11 MB (measured), and a web worker never
    migrates. Under `flask ...` the app is created inside the click command's context.
    """
    if app.testing or click.get_current_context(silent=True) is not None:
        from flask_migrate import Migrate

        Migrate(app, db, directory=MIGRATIONS_DIR)


def register_blueprints(app: Flask) -> None:
    from bookshelf.api import register_api
    from bookshelf.auth import bp as auth_bp
    from bookshelf.authors import bp as authors_bp
    from bookshelf.books import bp as books_bp
    from bookshelf.covers import register_covers
    from bookshelf.errors import register_error_handlers
    from bookshelf.goodreads import bp as goodreads_bp
    from bookshelf.i18n import bp as i18n_bp
    from bookshelf.main import bp as main_bp
    from bookshelf.reading_list import bp as reading_list_bp
    from bookshelf.search import bp as search_bp
    from bookshelf.shelves import bp as shelves_bp
    from bookshelf.users import bp as users_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(books_bp)
    register_covers(app)
    app.register_blueprint(authors_bp)
    app.register_blueprint(search_bp)
    app.register_blueprint(i18n_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(users_bp)
    app.register_blueprint(reading_list_bp)
    app.register_blueprint(shelves_bp)
    app.register_blueprint(goodreads_bp)
    register_api(app)
    register_error_handlers(app)


def register_commands(app: Flask) -> None:
    from bookshelf.cli import register_cli

    register_cli(app)
