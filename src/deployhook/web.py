"""Flask app: the signed webhook receiver and the operator's dashboard and JSON API."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    url_for,
)
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from . import events, signatures
from .config import Config
from .store import Deploy, Store
from .worker import Worker

receiver = Blueprint("receiver", __name__)
operator = Blueprint("operator", __name__)


def _cfg() -> Config:
    return current_app.extensions["deployhook"]["config"]


def _store() -> Store:
    return current_app.extensions["deployhook"]["store"]


def _json(data: dict[str, Any], status: int) -> Response:
    response = jsonify(data)
    response.status_code = status
    return response


def webhook() -> Response:
    """Verify first, parse second, queue third; never run anything inside the request."""
    cfg = _cfg()
    # get_data honours MAX_CONTENT_LENGTH, so an oversized body is a 413 before any work.
    body = request.get_data(cache=True, parse_form_data=False)
    verified = signatures.verify(
        request.headers, body, cfg.secret, allow_sha1=cfg.allow_sha1, providers=cfg.providers
    )
    if verified is None:
        # Same body for missing, malformed and wrong signatures: nothing to learn from it.
        return _json({"error": "forbidden"}, 403)
    provider = verified.provider
    try:
        payload = _parse_payload(body, request.mimetype)
    except ValueError:
        return _json({"error": "malformed payload"}, 400)
    event = events.event_name(provider, request.headers)
    delivery = events.delivery_id(provider, request.headers)
    key = f"{provider}:{delivery}" if delivery else None
    decision = events.decide(provider, event, payload, repository=cfg.repository, branch=cfg.branch)
    store = _store()
    if decision.kind == "push" and decision.push is not None:
        push = decision.push
        deploy = Deploy(
            app=cfg.app_name,
            trigger="webhook",
            delivery_id=delivery,
            provider=provider,
            repository=push.repository,
            ref=push.ref,
            commit_sha=push.sha,
            pusher=push.pusher,
            message=push.message,
            status="queued",
        )
        stored = store.record_delivery(key, event, "queued", deploy)
        if stored is False:
            return _json({"status": "already received", "delivery": delivery}, 200)
        assert isinstance(stored, Deploy)
        worker: Worker | None = current_app.extensions["deployhook"]["worker"]
        if worker is not None:
            worker.wake()
        return _json(
            {
                "status": "queued",
                "deploy_id": stored.id,
                "commit": push.sha,
                "status_url": url_for("operator.api_deploy", deploy_id=stored.id, _external=True),
            },
            202,
        )
    if store.record_delivery(key, event, decision.reason) is False:
        return _json({"status": "already received", "delivery": delivery}, 200)
    if decision.kind == "ping":
        return _json({"status": "pong", "provider": provider}, 200)
    return _json({"status": "ignored", "reason": decision.reason}, 202)


def _parse_payload(body: bytes, mimetype: str) -> Any:
    # GitHub can also send form-encoded "payload=<json>"; the signature covers the raw body.
    if mimetype == "application/x-www-form-urlencoded":
        values = parse_qs(body.decode("utf-8"), strict_parsing=False).get("payload")
        if not values:
            raise ValueError("no payload field")
        body = values[0].encode("utf-8")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(str(exc)) from exc


@receiver.get("/healthz")
def healthz() -> Response:
    """Liveness of deployhook itself (no deploy information, so no login needed)."""
    return _json({"status": "ok"}, 200)


# -- operator views -------------------------------------------------------------------------
@operator.before_request
def require_operator() -> Response | None:
    """Token via ``Authorization: Bearer`` or HTTP Basic (any user name, token as password)."""
    token = _cfg().operator_token
    if not token:
        return _json({"error": "operator views are disabled: no operator token configured"}, 404)
    header = request.headers.get("Authorization", "")
    given = ""
    if header.startswith("Bearer "):
        given = header[len("Bearer ") :].strip()
    elif header.startswith("Basic "):
        try:
            decoded = base64.b64decode(header[len("Basic ") :], validate=True).decode("utf-8")
            given = decoded.partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            given = ""
    if given and hmac.compare_digest(given.encode(), token.encode()):
        return None
    response = _json({"error": "authentication required"}, 401)
    response.headers["WWW-Authenticate"] = 'Basic realm="deployhook"'
    return response


@operator.get("/")
def dashboard() -> str:
    """Latest deploys with status, commit, duration and pusher."""
    store = _store()
    return render_template(
        "dashboard.html",
        deploys=store.latest(50),
        app_name=_cfg().app_name,
        lock=store.lock_holder(),
    )


@operator.get("/deploys/<int:deploy_id>")
def deploy_page(deploy_id: int) -> str:
    """One deploy's steps; the page refreshes itself while the deploy is live."""
    deploy = _store().get(deploy_id)
    if deploy is None:
        abort(404)
    return render_template("deploy.html", deploy=deploy, app_name=_cfg().app_name)


@operator.get("/api/deploys")
def api_deploys() -> Response:
    """JSON list of the latest deploys (``?limit=``, max 200)."""
    limit = min(max(request.args.get("limit", 50, type=int) or 50, 1), 200)
    return jsonify({"deploys": [d.to_dict() for d in _store().latest(limit)]})


@operator.get("/api/deploys/<int:deploy_id>")
def api_deploy(deploy_id: int) -> Response:
    """JSON for one deploy with its steps (the webhook's ``status_url``)."""
    deploy = _store().get(deploy_id)
    if deploy is None:
        return _json({"error": "not found"}, 404)
    return jsonify(deploy.to_dict(with_steps=True))


def _error_handler(exc: HTTPException) -> Response:
    # JSON, short, and never a traceback or a hint about the secret.
    return _json({"error": (exc.name or "error").lower()}, exc.code or 500)


def create_app(
    config: Config, *, store: Store | None = None, worker: Worker | None = None
) -> Flask:
    """Build the service. The worker is optional so the web tier can run without one."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.config["JSON_SORT_KEYS"] = False
    if config.trust_proxy:
        # Behind nginx the client address (for rate limiting) and scheme come from headers.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=config.trust_proxy,
            x_proto=config.trust_proxy,
            x_host=config.trust_proxy,
        )
    store = store or Store(config.database_url, config.app_name)
    app.extensions["deployhook"] = {"config": config, "store": store, "worker": worker}
    limiter = Limiter(
        key_func=get_remote_address,
        app=app,
        storage_uri="memory://",
        default_limits=[],
        headers_enabled=True,
    )
    # Limit per source address before any HMAC work, so a flood costs us little.
    limit: Callable[[Any], Any] = limiter.limit(config.rate_limit)
    app.add_url_rule("/webhook", "webhook", limit(webhook), methods=["POST"])
    app.register_blueprint(receiver)
    app.register_blueprint(operator)
    for code in (400, 401, 403, 404, 405, 413, 429, 500):
        app.register_error_handler(code, _error_handler)
    app.jinja_env.filters["short"] = lambda sha: (sha or "")[:10]
    app.jinja_env.filters["seconds"] = lambda v: "" if v is None else f"{v:.1f}s"
    return app
