"""The deployhook dashboard in Debian's Chromium, against a real `deployhook serve` with real
git: sign in, a webhook deploy watched live, a failing deploy opening at its failure, a
dashboard deploy, rollback from the button, cancel, pause/resume; axe on every page; the
layout at 375 px and in dark mode. With DEPLOYHOOK_SCREENSHOTS=<dir> it also saves the
screenshots used in docs/DEPLOYHOOK.md."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from support import free_port, start_server, stop_group
from support.axe import serious_problems

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

BIN = Path(sys.executable).parent
SECRET = secrets.token_hex(20)
TOKEN = secrets.token_hex(20)
SHOTS = os.environ.get("DEPLOYHOOK_SCREENSHOTS")

# The repository's own test gate: what it does depends on MODE, so each commit behaves
# differently (passes slowly, fails after many PASSED lines, or hangs until cancelled).
CHECK = """import sys, time
MODE = {mode!r}
if MODE == "slow":
    for i in range(40):
        print(f"\\x1b[32mPASSED\\x1b[0m tests/test_app.py::test_{{i}}", flush=True)
        time.sleep(0.15)
elif MODE == "fail":
    for i in range(60):
        print(f"PASSED tests/test_app.py::test_ok_{{i}}")
    print("\\x1b[31mFAILED\\x1b[0m tests/test_app.py::test_checkout - AssertionError: 2 != 3")
    sys.exit(1)
elif MODE == "hang":
    print("collecting ...", flush=True)
    time.sleep(300)
print("all passed")
"""


def git(cwd: Path, *args: str) -> str:
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="Ada",
        GIT_AUTHOR_EMAIL="ada@example.com",
        GIT_COMMITTER_NAME="Ada",
        GIT_COMMITTER_EMAIL="ada@example.com",
    )
    done = subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)
    return done.stdout.decode().strip()


class App:
    """Stands in for the deployed app: /healthz reports the REVISION `current` points to."""

    def __init__(self, deploy_to: Path) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                try:
                    commit = (deploy_to / "current" / "REVISION").read_text().strip()
                except OSError:
                    commit = None
                body = json.dumps({"status": "ok", "commit": commit}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/healthz"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class Site:
    """An origin repository, a running `deployhook serve`, and ways to push to it."""

    def __init__(self, tmp: Path) -> None:
        self.origin = tmp / "origin"
        self.origin.mkdir()
        git(self.origin, "init", "-q", "-b", "main")
        self.deploy_to = tmp / "srv"
        self.app = App(self.deploy_to)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.config = tmp / "deployhook.toml"
        self.config.write_text(self._toml())
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(tmp),
            "DEPLOYHOOK_SECRET": SECRET,
            "DEPLOYHOOK_OPERATOR_TOKEN": TOKEN,
        }
        self.proc = start_server(
            [BIN / "deployhook", "serve", "--config", self.config],
            tmp / "deployhook.log",
            env=env,
            ready=f"{self.base}/healthz",
        )

    def _toml(self) -> str:
        return f"""
[server]
port = {self.port}
debounce_seconds = 0.0
[app]
name = "widget"
repository = "acme/widget"
git_url = "{self.origin}"
branch = "main"
deploy_to = "{self.deploy_to}"
keep_releases = 3
[commands]
install = []
test = [["{sys.executable}", "check.py"]]
[reload]
method = "command"
command = ["true"]
[health]
url = "{self.app.url}"
interval = 0.1
confirmations = 2
[timeouts]
health = 10
"""

    def commit(self, mode: str, message: str) -> str:
        (self.origin / "check.py").write_text(CHECK.format(mode=mode))
        git(self.origin, "add", "-A")
        git(self.origin, "commit", "-q", "-m", message)
        return git(self.origin, "rev-parse", "HEAD")

    def push(self, sha: str, message: str) -> int:
        body = json.dumps(
            {
                "ref": "refs/heads/main",
                "after": sha,
                "repository": {"full_name": "acme/widget"},
                "pusher": {"name": "ada"},
                "head_commit": {"message": message},
            }
        ).encode()
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{self.base}/webhook",
            data=body,
            headers={
                "Content-Type": "application/json",
                "X-GitHub-Event": "push",
                "X-GitHub-Delivery": secrets.token_hex(8),
                "X-Hub-Signature-256": signature,
            },
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return int(json.loads(response.read())["deploy_id"])

    def api(self, deploy_id: int) -> dict[str, Any]:
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{self.base}/api/deploys/{deploy_id}", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return json.loads(response.read())

    def wait(self, deploy_id: int, timeout: float = 90) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            record = self.api(deploy_id)
            if record["status"] not in ("queued", "running"):
                return record
            assert time.monotonic() < deadline, record
            time.sleep(0.2)

    def live(self) -> str:
        return (self.deploy_to / "current" / "REVISION").read_text().strip()

    def stop(self) -> None:
        stop_group(self.proc)
        self.app.server.shutdown()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    s = Site(tmp_path)
    yield s
    s.stop()


def shot(page: Any, name: str, **options: Any) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"deployhook-{name}.png"), **options)


def confirm(page: Any) -> None:
    """Answer a confirmation page with its "Yes, ..." button."""
    page.get_by_role("button", name="Yes,", exact=False).click()


def sign_in_with_keyboard(page: Any) -> None:
    page.goto("/")
    assert "/signin" in page.url  # sent to the form, and back afterwards
    page.get_by_label("Operator token").fill("wrong-token-wrong-token-wrong-token")
    page.get_by_label("Your name").fill("Ada")
    page.keyboard.press("Enter")
    page.get_by_role("alert").wait_for()
    assert "not right" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Your name").input_value() == "Ada"  # the form kept it
    page.get_by_label("Operator token").focus()
    page.keyboard.type(TOKEN)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Live now").wait_for()


def watch_a_webhook_deploy_live(page: Any, site: Site) -> str:
    """Output appears while the deploy runs, without a page reload; returns the commit."""
    first = site.commit("slow", "Add the widget")
    deploy_id = site.push(first, "Add the widget")
    page.goto(f"/deploys/{deploy_id}")
    page.evaluate("window.__sameDocument = true")
    log = page.locator("pre.log", has_text="test_0")
    log.wait_for()
    assert site.api(deploy_id)["status"] == "running"  # seen before the deploy finished
    running = page.locator("details.step[open] .step-n").inner_text()
    assert running == "7 of 11", running  # the plan: 11 steps when nothing goes wrong
    page.locator("pre.log", has_text="test_20").wait_for()
    # A reader at the end of the log stays at the end as lines arrive ...
    assert log.evaluate("el => el.scrollHeight - el.scrollTop - el.clientHeight < 8")
    assert log.evaluate("el => el.scrollHeight > el.clientHeight")
    shot(page, "live")
    # ... one who scrolled up keeps their place.
    log.evaluate("el => { el.scrollTop = 0; }")
    page.locator("pre.log", has_text="test_32").wait_for()
    assert log.evaluate("el => el.scrollTop") == 0
    page.locator("#deploy[data-done='succeeded']").wait_for(timeout=60_000)
    assert page.evaluate("window.__sameDocument") is True  # updated in place, never reloaded
    totals = set(page.locator(".step-total").all_inner_texts())
    assert totals == {"11"}, totals  # and the plan was right
    assert "all passed" in (page.locator("pre.log", has_text="all passed").text_content() or "")
    assert "\x1b" not in page.content()
    assert site.live() == first
    return first


def open_a_failed_deploy(page: Any, site: Site, axe: Callable[[], None]) -> None:
    """A failing deploy opens at the failing step, its last lines visible."""
    failing = site.commit("fail", "Break the checkout")
    failed_id = site.push(failing, "Break the checkout")
    assert site.wait(failed_id)["status"] == "failed"
    page.goto(f"/deploys/{failed_id}")
    test_step = page.locator("details.step[open]")
    assert test_step.count() == 1 and "test" in test_step.locator(".step-name").inner_text()
    failed_line = test_step.locator("pre.log")
    assert failed_line.evaluate("el => el.scrollTop > 0")  # scrolled to its end
    box, pre = page.get_by_text("FAILED tests/test_app.py", exact=False), failed_line.bounding_box()
    line = box.bounding_box()
    assert pre and line and pre["y"] <= line["y"] <= pre["y"] + pre["height"]  # visible
    axe()
    shot(page, "failed")


def deploy_the_tip_from_the_dashboard(page: Any, site: Site, axe: Callable[[], None]) -> str:
    """The deploy button asks first; returns the commit it made live."""
    fixed = site.commit("quick", "Fix the checkout")
    page.goto("/")
    page.get_by_role("button", name="Deploy…").click()
    assert "Deploy the tip of main?" in page.content()
    axe()
    confirm(page)
    page.locator("#deploy[data-done='succeeded']").wait_for(timeout=60_000)
    assert site.live() == fixed
    return fixed


def roll_back_from_the_releases_page(page: Any, axe: Callable[[], None]) -> None:
    page.goto("/releases")
    axe()
    shot(page, "releases")
    page.get_by_role("button", name="Roll back to this").first.click()
    confirm(page)
    page.locator("#deploy[data-done='succeeded']").wait_for(timeout=60_000)


def cancel_a_running_deploy(page: Any, site: Site) -> None:
    """Its step ends and its release goes; what is live stays."""
    live = site.live()
    hanging = site.commit("hang", "Slow tests")
    hang_id = site.push(hanging, "Slow tests")
    page.goto(f"/deploys/{hang_id}")
    page.locator("pre.log", has_text="collecting").wait_for()
    page.get_by_role("button", name="Cancel this deploy…").click()
    confirm(page)
    page.locator("#deploy[data-done='cancelled']").wait_for(timeout=30_000)
    record = site.api(hang_id)
    assert record["status"] == "cancelled" and "live app untouched" in record["reason"]
    assert site.live() == live
    assert record["release"] not in os.listdir(site.deploy_to / "releases")


def pause_then_resume(
    page: Any, site: Site, axe: Callable[[], None], first: str, fixed: str
) -> None:
    """While paused a push is recorded and waits; resuming deploys it."""
    page.goto("/")
    page.get_by_role("button", name="Pause automatic deploys…").click()
    confirm(page)
    later = site.commit("quick", "After the pause")
    later_id = site.push(later, "After the pause")
    time.sleep(2)
    assert site.api(later_id)["status"] == "queued"
    page.goto("/")
    assert "paused" in page.locator("#queue").inner_text()
    panel = page.locator("#live").inner_text()
    assert first[:10] in panel and "Add the widget" in panel and "Author\nAda" in panel
    assert f"-{fixed[:7]}" in panel and "healthy" in panel  # the release live before rollback
    axe()
    shot(page, "dashboard", full_page=True)
    page.get_by_role("button", name="Resume automatic deploys…").click()
    confirm(page)
    assert site.wait(later_id)["status"] == "succeeded" and site.live() == later


def test_dashboard_in_a_real_browser(browser: Any, site: Site, axe_source: str) -> None:
    context = browser.new_context(
        base_url=site.base, bypass_csp=True, viewport={"width": 1200, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    problems: list[str] = []

    def axe() -> None:
        problems.extend(serious_problems(page, axe_source, page.url))

    sign_in_with_keyboard(page)
    axe()
    first = watch_a_webhook_deploy_live(page, site)
    open_a_failed_deploy(page, site, axe)
    assert site.live() == first  # the failed deploy left the live app untouched
    fixed = deploy_the_tip_from_the_dashboard(page, site, axe)
    roll_back_from_the_releases_page(page, axe)
    assert site.live() == first
    cancel_a_running_deploy(page, site)
    pause_then_resume(page, site, axe, first, fixed)

    # The audit log lists every action with who and from where.
    page.goto("/audit")
    audit = page.locator("table").inner_text()
    for action in ("sign-in failed", "sign-in", "deploy", "rollback", "cancel", "pause", "resume"):
        assert action in audit
    assert "Ada" in audit and "127.0.0.1" in audit
    axe()
    page.goto("/signin")
    axe()
    context.close()
    assert problems == []


def test_dashboard_fits_a_phone_and_has_a_dark_mode(
    browser: Any, site: Site, axe_source: str
) -> None:
    sha = site.commit("quick", "A first release with a rather long commit message to wrap")
    assert site.wait(site.push(sha, "A first release"))["status"] == "succeeded"
    for scheme in ("light", "dark"):
        context = browser.new_context(
            base_url=site.base,
            bypass_csp=True,
            viewport={"width": 375, "height": 800},
            color_scheme=scheme,
        )
        page = context.new_page()
        page.goto("/signin")
        page.get_by_label("Your name").fill("Ada")
        page.get_by_label("Operator token").fill(TOKEN)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Live now").wait_for()
        for path in ("/", "/deploys/1", "/releases", "/audit"):
            page.goto(path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 375, (scheme, path, width)  # nothing cut off or scrolling sideways
            problems = serious_problems(page, axe_source, page.url)
            assert problems == [], (scheme, problems)
        page.goto("/")
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert (background == "rgb(13, 17, 23)") == (scheme == "dark")
        shot(page, f"phone-{scheme}", full_page=True)
        context.close()
