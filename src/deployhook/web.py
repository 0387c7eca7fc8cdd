"""Flask app: the signed webhook receiver and the operator's dashboard and JSON API."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from flask import (
    Blueprint,
    Flask,
    Response,
    jsonify,
    render_template,
    request,
    url_for,
)
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from . import appstate, auth, events, signatures
from .appstate import config as _cfg
from .appstate import json_response as _json
from .appstate import store as _store
from .config import Config, mask_credentials
from .dashboard import operator
from .fleet import pipeline_for
from .livelog import strip_ansi
from .overview import HealthWatch
from .store import Deploy, Store
from .worker import Worker

log = logging.getLogger(__name__)
receiver = Blueprint("receiver", __name__)


def webhook() -> Response:
    """Verify first, parse second, queue third; never run anything inside the request."""
    cfg = _cfg()
    # get_data honours MAX_CONTENT_LENGTH, so an oversized body is a 413 before any work.
    body = request.get_data(cache=True, parse_form_data=False)
    kind = _content_kind(request.mimetype)
    provider = events.detect_provider(request.headers, cfg.providers)
    signed = _signed_bytes(provider, kind, body)
    verified = None
    if provider is not None and signed is not None:
        verified = signatures.verify_as(
            provider, request.headers, signed, cfg.secret, allow_sha1=cfg.allow_sha1
        )
    if verified is None:
        # Same body for missing, malformed and wrong signatures: nothing to learn from it.
        return _json({"error": "forbidden"}, 403)
    if kind is None:
        return _problem(
            415,
            "Unsupported Media Type",
            "send the webhook as application/json, or as application/x-www-form-urlencoded "
            f"with a payload field; got {request.content_type or '(no Content-Type)'!r}",
        )
    try:
        payload = _parse_payload(body, kind)
    except ValueError:
        return _json({"error": "malformed payload"}, 400)
    event = events.event_name(verified.provider, request.headers)
    delivery = events.delivery_id(verified.provider, request.headers)
    decision = events.decide(
        verified.provider,
        event,
        payload,
        repository=cfg.repository,
        branch=cfg.branch,
        delivery=delivery,
    )
    try:
        return _record(decision, verified.provider, event, delivery)
    except SQLAlchemyError:
        # The database refused the write (down, or a schema older than this code): nothing was
        # queued, and the provider shows the failure so the delivery can be sent again.
        log.exception("could not record a %s delivery", verified.provider)
        return _problem(
            503,
            "Service Unavailable",
            "the delivery could not be recorded and nothing was queued; redeliver it later",
        )


def _record(decision: events.Decision, provider: str, event: str, delivery: str | None) -> Response:
    key = f"{provider}:{delivery}" if delivery else None
    if decision.kind == "push" and decision.push is not None:
        earlier = _earlier_deploy(decision.push.sha)
        if earlier is None:
            return _queue(decision.push, event, key)
        decision = events.Decision("ignored", _replay_reason(decision.push.sha, earlier))
    if _store().record_delivery(key, event, decision.reason).duplicate:
        return _json({"status": "already received", "delivery": delivery}, 200)
    if decision.kind == "ping":
        return _json({"status": "pong", "provider": provider}, 200)
    return _json({"status": "ignored", "reason": decision.reason}, 202)


def _queue(push: events.PushEvent, event: str, key: str | None) -> Response:
    cfg = _cfg()
    deploy = Deploy(
        app=cfg.app_name,
        trigger="webhook",
        delivery_id=push.delivery_key,
        provider=push.provider,
        repository=push.repository,
        ref=push.ref,
        commit_sha=push.sha,
        pusher=push.pusher,
        message=push.message,
        status="queued",
    )
    recorded = _store().record_delivery(key, event, "queued", deploy)
    if recorded.duplicate or recorded.deploy is None:
        return _json({"status": "already received", "delivery": push.delivery_key}, 200)
    stored = recorded.deploy
    worker = appstate.worker()
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


def _earlier_deploy(sha: str) -> Deploy | None:
    """The latest deploy of this commit, if any. The signature covers the body but not the
    delivery id, so a captured body can be sent again under a fresh id, none, or another
    provider's headers: a commit that was already received never deploys from a webhook again
    (the pipeline also refuses commits behind the live one)."""
    with _store().session() as s:
        return s.scalars(
            select(Deploy)
            .where(Deploy.app == _cfg().app_name, Deploy.commit_sha == sha)
            .order_by(Deploy.id.desc())
            .limit(1)
        ).first()


def _replay_reason(sha: str, earlier: Deploy) -> str:
    return (
        f"commit {sha} was already received (deploy #{earlier.id}, {earlier.status}); a webhook "
        f"never deploys a commit twice or moves production back: an operator can run "
        f"`deployhook deploy {sha}`"
    )


def _content_kind(mimetype: str) -> str | None:
    """ "json", "form" or None for anything else (any charset parameter is fine)."""
    if mimetype == "application/json":
        return "json"
    if mimetype == "application/x-www-form-urlencoded":
        return "form"
    return None


def _form_payload(body: bytes) -> bytes | None:
    try:
        values = parse_qs(body.decode("utf-8"), strict_parsing=False).get("payload")
    except UnicodeDecodeError:
        return None
    return values[0].encode("utf-8") if values else None


def _signed_bytes(provider: str | None, kind: str | None, body: bytes) -> bytes | None:
    """What the provider signed: GitHub and GitLab the raw body; Gitea and its kin the JSON,
    which in a form delivery is the ``payload`` field."""
    if kind == "form" and provider in ("gitea", "forgejo", "gogs"):
        return _form_payload(body)
    return body


def _parse_payload(body: bytes, kind: str) -> Any:
    if kind == "form":
        inner = _form_payload(body)
        if inner is None:
            raise ValueError("no payload field")
        body = inner
    try:
        return json.loads(body)
    except (UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(str(exc)) from exc


def _problem(status: int, title: str, detail: str) -> Response:
    # RFC 9457 problem details, so clients get a machine-readable reason.
    response = jsonify({"type": "about:blank", "title": title, "status": status, "detail": detail})
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


@receiver.get("/healthz")
def healthz() -> Response:
    """Liveness of deployhook itself (no deploy information, so no login needed)."""
    return _json({"status": "ok"}, 200)


def _error_handler(exc: HTTPException) -> Response:
    # Short, and never a traceback or a hint about the secret: JSON for the webhook and the
    # API, a page for a browser on the dashboard.
    status = exc.code or 500
    name = (exc.name or "error").lower()
    html = request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"
    if html and request.path != "/webhook" and not request.path.startswith("/api/"):
        config = _cfg()
        page = render_template(
            "error.html",
            title=exc.name or "Error",
            message=_plain(status),
            app_name=config.app_name,
        )
        return Response(page, status)
    return _json({"error": name}, status)


def _plain(status: int) -> str:
    if status == 429:
        return "Too many attempts from your address; wait a minute and try again."
    if status == 404:
        return "There is nothing here."
    return "The request could not be handled."


def _finalize(value: Any) -> Any:
    # Every value a template prints passes through here: no URL credentials on any page.
    if isinstance(value, Markup):
        return Markup(mask_credentials(str(value)))  # noqa: S704 - only "***" is inserted
    return mask_credentials(value) if isinstance(value, str) else value


def create_app(
    config: Config, *, store: Store | None = None, worker: Worker | None = None
) -> Flask:
    """Build the service. The worker is optional so the web tier can run without one."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.config["JSON_SORT_KEYS"] = False
    if config.trust_proxy:
        # Behind nginx the client address (for rate limiting) and scheme come from headers.
        # Only the X-Forwarded-* headers the proxy is known to set are believed; one it
        # passes through unchanged (X-Forwarded-Host, by default) would be client-chosen.
        hops = {name: config.trust_proxy for name in config.trust_proxy_headers}
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=hops.get("for", 0),
            x_proto=hops.get("proto", 0),
            x_host=hops.get("host", 0),
            x_port=hops.get("port", 0),
            x_prefix=hops.get("prefix", 0),
        )
    store = store or Store(config.database_url, config.app_name)
    app.extensions["deployhook"] = {
        "config": config,
        "store": store,
        "worker": worker,
        "pipeline": pipeline_for(config),
        "health": HealthWatch(config),
    }
    auth.configure_sessions(app, config.operator_token)
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
    # Failed sign-ins only (answered 401) count towards the per-address limit.
    limit_signin: Callable[[Any], Any] = limiter.limit(
        config.signin_rate_limit, methods=["POST"], deduct_when=lambda r: r.status_code == 401
    )
    app.view_functions["operator.signin"] = limit_signin(app.view_functions["operator.signin"])
    for code in (400, 401, 403, 404, 405, 413, 429, 500):
        app.register_error_handler(code, _error_handler)
    # Every value a template prints passes through here: no URL credentials on any page.
    app.jinja_env.finalize = _finalize
    app.jinja_env.filters["short"] = lambda sha: (sha or "")[:10]
    app.jinja_env.filters["seconds"] = lambda v: "" if v is None else f"{v:.1f}s"
    app.jinja_env.filters["ansi"] = strip_ansi
    app.jinja_env.filters["when"] = lambda t: "" if t is None else t.strftime("%Y-%m-%d %H:%M:%S")
    return app
