"""Flask-Limiter's hooks run on the blueprints that have limits, and on no other page.

The limits themselves (429, Retry-After, the API's RateLimit-* headers) are tested where they
apply: test_accounts.py, test_accounts_email.py, test_api_contract.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_limiter import Limiter

from bookshelf.extensions import limiter
from bookshelf.ratelimits import RATE_LIMITED_BLUEPRINTS
from bookshelf_helpers import add_books, csrf_token, make_rows

UNLIMITED_PAGES = ("/", "/books", "/books/{id}", "/search?term=river", "/healthz")


def is_limiter_code(func: Callable[..., Any]) -> bool:
    func = getattr(func, "func", func)  # the header hook is a functools.partial
    return (getattr(func, "__module__", None) or "").startswith("flask_limiter")


def limiter_hooks(app: Flask, scope: str | None) -> list[Callable[..., Any]]:
    registries = (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs)
    return [f for registry in registries for f in registry.get(scope, ()) if is_limiter_code(f)]


@pytest.fixture
def limiter_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every entry into the limiter during a request: its check names the request first, its
    header and teardown hooks read the request's limiter context."""
    calls: list[str] = []
    identify_request = Limiter.identify_request
    context = Limiter.context

    def counted_identify(self: Limiter) -> str:
        calls.append("check")
        return identify_request(self)

    def counted_context(self: Limiter) -> Any:
        calls.append("context")
        return context.fget(self)  # type: ignore[attr-defined]

    monkeypatch.setattr(Limiter, "identify_request", counted_identify)
    monkeypatch.setattr(Limiter, "context", property(counted_context))
    return calls


def test_no_limiter_hook_is_registered_for_every_page(app: Flask) -> None:
    assert limiter_hooks(app, None) == []
    for name in RATE_LIMITED_BLUEPRINTS:
        assert len(limiter_hooks(app, name)) == 3, name  # check, headers, context release


def test_unlimited_pages_run_no_limiter_code(
    app: Flask, client: FlaskClient, limiter_calls: list[str]
) -> None:
    (book_id,) = add_books(app, make_rows(1))
    for page in UNLIMITED_PAGES:
        response = client.get(page.format(id=book_id))
        assert response.status_code == 200, page
        assert limiter_calls == [], page


def test_limited_pages_still_run_the_limiter(
    app: Flask, client: FlaskClient, limiter_calls: list[str]
) -> None:
    """The counting above can see the limiter: it does on the pages that have limits."""
    assert client.get("/api/v1/books").status_code == 200
    assert "check" in limiter_calls and "context" in limiter_calls
    limiter_calls.clear()
    token = csrf_token(client)
    limiter_calls.clear()
    client.post("/login", data={"username": "nobody", "password": "x", "csrf_token": token})
    assert "context" in limiter_calls


@pytest.mark.parametrize("app_settings", [{"API_RATE_LIMIT": "3 per minute"}])
def test_every_limit_is_on_a_blueprint_that_runs_the_hooks(app: Flask) -> None:
    """A limit added to another blueprint fails here until that blueprint is listed."""
    limited = set()
    with app.app_context():
        for name in app.blueprints:
            if limiter.limit_manager.blueprint_limits(app, name):
                limited.add(name)
    for endpoint, view in app.view_functions.items():
        # Flask-Limiter marks the views it wraps with (a weak proxy of) the limiter.
        if getattr(view, "__wrapper-limiter-instance", None) == limiter:
            limited.add(endpoint.rpartition(".")[0])
    assert {"api", "auth"} <= limited  # the API, sign-in and password reset
    assert limited <= set(RATE_LIMITED_BLUEPRINTS)
