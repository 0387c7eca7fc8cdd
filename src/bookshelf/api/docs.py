"""Interactive API docs (Swagger UI), served from a PyPI package: no CDN, no inline script."""

from __future__ import annotations

from flask import Blueprint, make_response, render_template, send_from_directory
from swagger_ui_bundle import swagger_ui_path
from werkzeug.wrappers import Response

from bookshelf.security import CONTENT_SECURITY_POLICY

# Swagger UI sets inline styles from its own bundle; scripts stay 'self' only.
DOCS_CSP = CONTENT_SECURITY_POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


# A plain blueprint, so that the docs pages stay out of the OpenAPI document they show.
bp = Blueprint("api_docs", __name__, url_prefix="/api/v1/docs")


@bp.get("")
def docs() -> Response:
    response = make_response(render_template("api/docs.html"))
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response


@bp.get("/assets/<path:filename>")
def asset(filename: str) -> Response:
    return send_from_directory(swagger_ui_path, filename, max_age=86400)
