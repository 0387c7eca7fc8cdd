"""The JSON API under /api/v1, described by an OpenAPI 3 document (flask-smorest)."""

from __future__ import annotations

import http
from typing import Any

from flask import Flask
from flask_smorest import Api, Blueprint
from flask_smorest.utils import prepare_response

from bookshelf.api.schemas import ProblemSchema

PROBLEM_JSON = "application/problem+json"

bp = Blueprint(
    "api",
    __name__,
    url_prefix="/api/v1",
    description="Books and users. Reads are public; writes need a personal API token.",
)


class BookshelfApi(Api):
    """flask-smorest's Api, with RFC 9457 errors rendered by the app's own error handler."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        pass  # bookshelf.errors renders problem+json for /api/ and HTML elsewhere

    def _register_pagination_header(self) -> None:
        pass  # the API paginates with its own cursors and links, not flask-smorest's

    def _register_responses(self) -> None:
        # As in flask-smorest, one reusable response per status, but typed problem+json.
        for status in http.HTTPStatus:
            response: dict = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def nullable_reference(
    _converter: Any, field: Any, ret: dict[str, Any], **_kwargs: Any
) -> dict[str, Any]:
    """A nullable nested schema as OAS 3.0 types it: `allOf: [$ref]` + `nullable`.

    apispec writes "any object, or the schema" instead, which generated clients can only
    parse as a bare dict.
    """
    choices = ret.get("anyOf")
    if not isinstance(choices, list) or len(choices) != 2:
        return {}
    refs = [choice for choice in choices if "$ref" in choice]
    if len(refs) == 1 and {"type": "object", "nullable": True} in choices:
        del ret["anyOf"]
        return {"allOf": refs, "nullable": True}
    return {}


def register_api(app: Flask) -> None:
    from bookshelf.api import me, routes  # noqa: F401  (views attach themselves to bp)
    from bookshelf.api.docs import bp as docs_bp
    from bookshelf.api.protocol import reject_over_long_urls
    from bookshelf.extensions import csrf

    app.config.update(
        API_TITLE="Bookshelf API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
    )
    # One Api per app: flask-smorest keeps each app's OpenAPI document on it.
    api = BookshelfApi(
        app,
        spec_kwargs={
            "info": {"description": "The bookshelf catalogue as JSON. Errors: RFC 9457."},
        },
    )
    api.ma_plugin.converter.add_attribute_function(nullable_reference)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "A personal API token"}
    )
    # CSRF for the API is decided per request in routes.authenticate: tokens need none.
    csrf.exempt(bp)
    api.register_blueprint(bp)
    app.register_blueprint(docs_bp)
    # For every page, so that no URL the app accepts is one gunicorn or nginx would refuse.
    app.before_request(reject_over_long_urls)
