"""The operator's pages, JSON API and actions (deploy, redeploy, rollback, cancel, pause).

Every view here needs a signed-in operator (session cookie) or ``Authorization: Bearer``;
every POST from a session needs the CSRF token too (checked in one place, before any view).
Each action asks for confirmation first and is written to the audit log once done.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from . import appstate, auth, livelog
from .appstate import config as _cfg
from .appstate import health as _watch
from .appstate import json_response as _json
from .appstate import pipeline as _pipeline
from .appstate import store as _store
from .config import mask_credentials
from .events import is_sha
from .overview import live_now, releases
from .pipeline import RELEASE_RE
from .store import Deploy

operator = Blueprint("operator", __name__)

# Reachable without signing in (the sign-in page itself is rate limited in create_app).
PUBLIC_ENDPOINTS = frozenset({"operator.signin"})


def _wants_json() -> bool:
    return request.path.startswith("/api/") or auth.bearer_ok(request, _cfg().operator_token or "")


# -- the gate ----------------------------------------------------------------------------------
@operator.before_request
def require_operator() -> BaseResponse | None:
    """Signed in (session or Bearer) for everything but the sign-in page; CSRF on POSTs."""
    token = _cfg().operator_token
    if not token:
        return _json({"error": "operator views are disabled: no operator token configured"}, 404)
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    op = auth.current_operator(token)
    if op is None:
        return _not_signed_in()
    auth.remember(op)
    if auth.needs_csrf() and not auth.csrf_ok():
        return _refuse(403, "The form was stale or not sent by this dashboard (CSRF check).")
    return None


def _not_signed_in() -> BaseResponse:
    if request.method == "GET" and not request.path.startswith("/api/"):
        return redirect(url_for("operator.signin", next=request.full_path.rstrip("?")), 303)
    response = _json({"error": "authentication required"}, 401)
    response.headers["WWW-Authenticate"] = 'Bearer realm="deployhook"'
    return response


def _refuse(status: int, message: str) -> BaseResponse:
    if _wants_json():
        return _json({"error": message}, status)
    page = render_template("error.html", title="Refused", message=message, app_name=_app_name())
    return Response(page, status)


def _app_name() -> str:
    return _cfg().app_name


@operator.app_context_processor
def _template_globals() -> dict[str, Any]:
    op = _cfg().operator_token
    return {"csrf_token": auth.csrf_token if op else (lambda: "")}


# -- signing in and out ------------------------------------------------------------------------
def _safe_next(target: str | None) -> str:
    # Only a path on this site: never "//host" or "https://host" (an open redirect).
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("operator.dashboard")


@operator.route("/signin", methods=["GET", "POST"])
def signin() -> BaseResponse | str | tuple[str, int]:
    """The sign-in form; a wrong token is answered 401 (and counted by the rate limit)."""
    token = _cfg().operator_token or ""
    form = {"name": request.form.get("name", "").strip(), "next": request.values.get("next", "")}
    if request.method == "GET":
        return render_template("signin.html", form=form, error=None, app_name=_app_name())
    error = None
    if not auth.csrf_ok():
        error = "The sign-in form had expired; please try again."
    elif not auth.valid_name(form["name"]):
        error = "Enter your name (letters, digits, spaces, . @ + - _; up to 64) for the audit log."
    elif not auth.sign_in(token, request.form.get("token", ""), form["name"]):
        error = "That operator token is not right."
        _store().audit(form["name"] or "?", request.remote_addr or "", "sign-in failed")
    if error:
        page = render_template("signin.html", form=form, error=error, app_name=_app_name())
        return page, 401
    _store().audit(form["name"], request.remote_addr or "", "sign-in")
    return redirect(_safe_next(form["next"]), 303)


@operator.post("/signout")
def signout() -> BaseResponse:
    """End the session."""
    _audit("sign-out")
    auth.sign_out()
    return redirect(url_for("operator.signin"), 303)


# -- pages -------------------------------------------------------------------------------------
@operator.get("/")
def dashboard() -> str:
    """Live now, the queue, the actions and the latest deploys."""
    store = _store()
    return render_template(
        "dashboard.html",
        live=live_now(_pipeline(), store, _watch()),
        deploys=store.latest(50),
        app_name=_app_name(),
        branch=_cfg().branch,
    )


@operator.get("/deploys/<int:deploy_id>")
def deploy_page(deploy_id: int) -> str:
    """One deploy's steps, live while it runs."""
    deploy = _store().get(deploy_id)
    if deploy is None:
        abort(404)
    return render_template(
        "deploy.html",
        deploy=deploy,
        total=livelog.step_total(deploy, _pipeline().planned_steps),
        app_name=_app_name(),
        notifications=_store().notifications(deploy_id),
    )


@operator.get("/deploys/<int:deploy_id>/stream")
def deploy_stream(deploy_id: int) -> Response:
    """Server-Sent Events: step states and new output as they are produced."""
    store = _store()
    if store.get(deploy_id) is None:
        abort(404)
    events = livelog.stream(
        lambda: store.get(deploy_id), mask_credentials, planned=_pipeline().planned_steps
    )
    response = Response(events, mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass events through at once
    return response


@operator.get("/deploys/<int:deploy_id>/log.txt")
def deploy_log(deploy_id: int) -> Response:
    """The whole deploy's output as a plain-text download."""
    deploy = _store().get(deploy_id)
    if deploy is None:
        abort(404)
    response = Response(livelog.raw_log(deploy, mask_credentials), mimetype="text/plain")
    response.headers["Content-Disposition"] = f'attachment; filename="deploy-{deploy_id}.log"'
    return response


@operator.get("/releases")
def releases_page() -> str:
    """Releases kept on disk, each with its commit and a rollback button."""
    return render_template(
        "releases.html", releases=releases(_pipeline(), _store()), app_name=_app_name()
    )


@operator.get("/audit")
def audit_page() -> str:
    """Who did what, when, from where."""
    return render_template("audit.html", entries=_store().audit_entries(), app_name=_app_name())


# -- JSON API ----------------------------------------------------------------------------------
@operator.get("/api/deploys")
def api_deploys() -> Response:
    """JSON list of the latest deploys (``?limit=``, max 200)."""
    limit = min(max(request.args.get("limit", 50, type=int) or 50, 1), 200)
    return jsonify({"deploys": [masked(d.to_dict()) for d in _store().latest(limit)]})


@operator.get("/api/deploys/<int:deploy_id>")
def api_deploy(deploy_id: int) -> Response:
    """JSON for one deploy with its steps (the webhook's ``status_url``)."""
    deploy = _store().get(deploy_id)
    if deploy is None:
        return _json({"error": "not found"}, 404)
    return jsonify(masked(deploy.to_dict(with_steps=True)))


def masked(value: Any) -> Any:
    """Credentials in URLs (a token in git_url, in a fetch command or its output) become
    ``***`` in everything the operator views show."""
    if isinstance(value, str):
        return mask_credentials(value)
    if isinstance(value, dict):
        return {k: masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


# -- actions -----------------------------------------------------------------------------------
def _audit(action: str, detail: str = "", deploy_id: int | None = None) -> None:
    _store().audit(auth.operator_name(), request.remote_addr or "", action, detail, deploy_id)


def _confirmed() -> bool:
    return request.form.get("confirm") == "yes"


def _confirm(title: str, question: str, fields: dict[str, str], **extra: Any) -> str:
    """The confirmation page: the same form again, with confirm=yes and a clear question."""
    return render_template(
        "confirm.html",
        title=title,
        question=question,
        fields=fields,
        action=request.path,
        app_name=_app_name(),
        **extra,
    )


def _done(deploy: Deploy | None, message: str) -> BaseResponse:
    if _wants_json():
        return _json({"status": message, "deploy_id": deploy.id if deploy else None}, 202)
    target = url_for("operator.deploy_page", deploy_id=deploy.id) if deploy else None
    return redirect(target or url_for("operator.dashboard"), 303)


def _queue(trigger: str, message: str, **fields: Any) -> Deploy:
    cfg = _cfg()
    deploy = _store().enqueue(
        trigger=trigger,
        provider="dashboard",
        repository=cfg.repository,
        ref=f"refs/heads/{cfg.branch}",
        pusher=auth.operator_name(),
        message=message,
        **fields,
    )
    worker = appstate.worker()
    if worker is not None:
        worker.wake()
    return deploy


@operator.post("/actions/deploy")
def action_deploy() -> BaseResponse | str | tuple[str, int]:
    """Deploy the branch tip, or a given commit of the branch."""
    sha = request.form.get("sha", "").strip().lower()
    if sha and not is_sha(sha):
        error = "A commit must be the full 40 (or 64) character hex id, or empty for the tip."
        page = _confirm("Deploy", "Deploy which commit?", {}, sha=sha, error=error, ask_sha=True)
        return page, 400
    what = f"commit {sha}" if sha else f"the tip of {_cfg().branch}"
    if not _confirmed():
        return _confirm("Deploy", f"Deploy {what}?", {"sha": sha}, sha=sha, ask_sha=True)
    deploy = _queue("manual", f"deploy of {what} from the dashboard", commit_sha=sha or None)
    _audit("deploy", f"queued deploy #{deploy.id} of {what}", deploy.id)
    return _done(deploy, "queued")


@operator.post("/actions/redeploy/<int:deploy_id>")
def action_redeploy(deploy_id: int) -> BaseResponse | str:
    """Deploy a past deploy's commit again (an operator may go back in time)."""
    past = _store().get(deploy_id)
    if past is None or not past.commit_sha:
        return _refuse(404, f"Deploy #{deploy_id} has no commit to deploy again.")
    if not _confirmed():
        return _confirm(
            "Redeploy", f"Deploy commit {past.commit_sha[:10]} (from deploy #{past.id}) again?", {}
        )
    deploy = _queue(
        "manual", f"redeploy of #{past.id}: {past.message}"[:500], commit_sha=past.commit_sha
    )
    _audit("redeploy", f"queued #{deploy.id}: commit {past.commit_sha} of #{past.id}", deploy.id)
    return _done(deploy, "queued")


@operator.post("/actions/rollback")
def action_rollback() -> BaseResponse | str:
    """Switch back to a kept release (reload and health check as for any deploy)."""
    release = request.form.get("release", "")
    pipeline = _pipeline()
    if not RELEASE_RE.match(release) or release not in pipeline.release_names():
        return _refuse(400, f"There is no kept release named {release!r}.")
    if release == pipeline.live_release():
        return _refuse(400, f"{release} is already live.")
    commit = pipeline.release_commit(release) or "unknown commit"
    if not _confirmed():
        return _confirm(
            "Roll back", f"Roll back to {release} ({commit[:10]})?", {"release": release}
        )
    deploy = _queue("rollback", f"rollback to {release}", options={"release": release})
    _audit("rollback", f"queued rollback #{deploy.id} to {release} ({commit})", deploy.id)
    return _done(deploy, "queued")


@operator.post("/actions/cancel/<int:deploy_id>")
def action_cancel(deploy_id: int) -> BaseResponse | str:
    """Cancel a queued deploy, or stop a running one before it switches."""
    deploy = _store().get(deploy_id)
    if deploy is None or deploy.status not in ("queued", "running"):
        return _refuse(409, f"Deploy #{deploy_id} is not queued or running.")
    if not _confirmed():
        return _confirm(
            "Cancel",
            f"Cancel deploy #{deploy_id} ({deploy.status})? A running step is ended and its "
            "release removed; the live app is not touched.",
            {},
        )
    result = _store().request_cancel(deploy_id)
    if not result:
        return _refuse(409, f"Deploy #{deploy_id} finished before it could be cancelled.")
    _audit("cancel", f"deploy #{deploy_id}: {result}", deploy_id)
    return _done(deploy, result)


@operator.post("/actions/pause")
def action_pause() -> BaseResponse | str:
    """Hold automatic deploys; webhooks are still received and queued."""
    if not _confirmed():
        return _confirm("Pause", "Pause automatic deploys? Pushes are queued until resume.", {})
    _store().set_paused(True)
    _audit("pause", "automatic deploys paused")
    return _done(None, "paused")


@operator.post("/actions/resume")
def action_resume() -> BaseResponse | str:
    """Resume automatic deploys; the newest queued push deploys."""
    if not _confirmed():
        return _confirm("Resume", "Resume automatic deploys? The newest queued push deploys.", {})
    _store().set_paused(False)
    worker = appstate.worker()
    if worker is not None:
        worker.wake()
    _audit("resume", "automatic deploys resumed")
    return _done(None, "resumed")


@operator.after_request
def _page_headers(response: Response) -> Response:
    # Pages hold deploy logs: never cached, never framed, no third-party anything.
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
