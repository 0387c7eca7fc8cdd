"""Configuration: one TOML file plus secrets from the environment (or a .env file).

Each TOML table has its own small parser. Every parser reads its keys through a typed
accessor that records a problem (key, expected type, value) instead of raising, so a single
``check-config`` run lists everything that is wrong and nothing is silently defaulted.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

from dotenv import dotenv_values

CONFIG_ENV = "DEPLOYHOOK_CONFIG"
SECRET_ENV = "DEPLOYHOOK_SECRET"  # noqa: S105 - a variable name, not a secret
OPERATOR_TOKEN_ENV = "DEPLOYHOOK_OPERATOR_TOKEN"  # noqa: S105 - a variable name

PROVIDERS = ("github", "gitea", "forgejo", "gogs", "gitlab")
RELOAD_METHODS = ("gunicorn-usr2", "command", "none")
# X-Forwarded-* headers deployhook can be told to believe; "host" only when asked for, since a
# proxy that does not set it lets any client choose the host in generated URLs.
PROXY_HEADERS = ("for", "proto", "host", "port", "prefix")
DEFAULT_PROXY_HEADERS = ("for", "proto")
MIN_SECRET_LENGTH = 32
MIN_SECRET_VARIETY = 8
GENERATE_HINT = "generate one with `openssl rand -hex 32`"

# Characters git refuses anywhere in a ref name (git-check-ref-format rules 3-5 and 10).
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{")
# A narrower alphabet for the branch we deploy: it ends up in git argument lists and paths.
_BRANCH_CHARS = re.compile(r"[A-Za-z0-9._/-]{1,200}")
_URL_CREDENTIALS = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")

_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    list: "a list",
    dict: "a table",
}


class ConfigError(Exception):
    """Raised with every problem found, so an operator fixes them all in one go."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def valid_ref(ref: str) -> bool:
    """True when git would accept ``ref`` as a full ref name (``git check-ref-format``)."""
    if not isinstance(ref, str) or ref == "@" or "/" not in ref or _REF_FORBIDDEN.search(ref):
        return False
    if ref.startswith("/") or ref.endswith(("/", ".")):
        return False
    return all(
        part and not part.startswith(".") and not part.endswith(".lock") for part in ref.split("/")
    )


def valid_branch(name: str) -> bool:
    """A branch name we are willing to pass to git: valid as a ref, plain characters only,
    never starting with "-" (so it can never be read as an option)."""
    return (
        isinstance(name, str)
        and _BRANCH_CHARS.fullmatch(name) is not None
        and not name.startswith("-")
        and valid_ref(f"refs/heads/{name}")
    )


def mask_credentials(text: str) -> str:
    """Replace the user:password part of every URL in ``text`` with ``***``."""
    return _URL_CREDENTIALS.sub(r"\g<scheme>***@", text)


def weak_secret_problem(variable: str, value: str) -> str | None:
    """Why ``value`` is too weak to be a secret, or None; the value itself is never quoted."""
    if len(value) < MIN_SECRET_LENGTH:
        return (
            f"{variable} is {len(value)} characters long; it must be at least "
            f"{MIN_SECRET_LENGTH} random characters ({GENERATE_HINT})"
        )
    if len(set(value)) < MIN_SECRET_VARIETY:
        return (
            f"{variable} uses only {len(set(value))} different characters, which is guessable; "
            f"{GENERATE_HINT}"
        )
    return None


NOTIFY_KINDS = ("webhook", "slack", "email")
NOTIFY_EVENTS = ("succeeded", "failed", "rolled_back")
NOTIFY_SECRET_ENV = "DEPLOYHOOK_NOTIFY_SECRET"  # noqa: S105 - a variable name


@dataclass(frozen=True)
class NotifyTarget:
    """Where to report finished deploys: a signed JSON webhook, a Slack-style incoming
    webhook, or email over SMTP. The signing secret comes from the environment."""

    kind: str
    events: tuple[str, ...] = NOTIFY_EVENTS
    url: str = ""
    secret: str = field(default="", repr=False)
    mail_url: str = ""
    mail_from: str = ""
    mail_to: tuple[str, ...] = ()
    timeout: float = 5.0
    attempts: int = 3

    @property
    def label(self) -> str:
        """How pages name the target: never a path, query or password (a Slack webhook URL's
        path is its secret)."""
        if self.kind == "email":
            host = urlparse(self.mail_url).hostname or "?"
            return f"email to {', '.join(self.mail_to)} via {host}"
        return f"{self.kind} {urlparse(self.url).hostname or '?'}"


ROLLOUT_ABORT = ("rollback", "halt")
HEALTH_VIA = ("deploy-host", "ssh")
_HOST_NAME = re.compile(r"[A-Za-z0-9_.-]{1,40}")
# A host name or an IP address as ssh takes it: never an option, never a shell word.
_ADDRESS = re.compile(r"[A-Za-z0-9_.:-]{1,253}")
_USER = re.compile(r"[a-z_][a-z0-9_.-]{0,31}")


@dataclass(frozen=True)
class HostConfig:
    """One app server of a fleet, reached over SSH; paths are on that host."""

    name: str
    address: str
    deploy_to: PurePosixPath
    user: str = "deploy"
    port: int = 22
    health_url: str | None = None
    # "ssh": the URL is fetched on the host itself (curl over SSH), for an app server that
    # listens only on the host's loopback.
    health_via: str = "deploy-host"
    reload_method: str = "gunicorn-usr2"
    reload_pidfile: PurePosixPath | None = None
    reload_command: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """How logs and pages name the host: its name and where it is."""
        return f"{self.name} ({self.user}@{self.address}:{self.port})"


@dataclass(frozen=True)
class SSHConfig:
    """How deployhook logs in to the hosts: one key, host keys checked against one file."""

    key_file: Path
    known_hosts: Path
    connect_timeout: float = 10.0
    allow_agent: bool = False


@dataclass(frozen=True)
class RolloutConfig:
    """Order and pace of switching a fleet, and what happens when a host fails."""

    canary: int = 1
    batch_size: int = 1
    pause_seconds: float = 0.0
    abort: str = "rollback"
    package: tuple[tuple[str, ...], ...] = ()
    install: tuple[tuple[str, ...], ...] = ()
    exclude: tuple[str, ...] = (".venv", ".git")


@dataclass(frozen=True)
class Config:
    """Validated settings; built only by :func:`load_config` or :func:`config_from_dict`."""

    secret: str
    app_name: str
    repository: str
    git_url: str
    branch: str
    deploy_to: Path
    operator_token: str | None = None
    host: str = "127.0.0.1"
    port: int = 9000
    database_url: str = ""
    max_body_bytes: int = 1024 * 1024
    rate_limit: str = "60/minute"
    signin_rate_limit: str = "5/minute"
    allow_sha1: bool = False
    providers: tuple[str, ...] = PROVIDERS
    trust_proxy: int = 0
    trust_proxy_headers: tuple[str, ...] = DEFAULT_PROXY_HEADERS
    debounce_seconds: float = 2.0
    keep_releases: int = 5
    shared_paths: tuple[str, ...] = ()
    install: tuple[tuple[str, ...], ...] = ()
    test: tuple[tuple[str, ...], ...] = ()
    allow_no_tests: bool = False
    migrate: tuple[tuple[str, ...], ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    timeouts: dict[str, float] = field(default_factory=dict)
    reload_method: str = "gunicorn-usr2"
    reload_pidfile: Path | None = None
    reload_command: tuple[str, ...] = ()
    health_url: str | None = None
    health_commit_field: str = "commit"
    health_interval: float = 0.5
    health_confirmations: int = 3
    output_cap_bytes: int = 64 * 1024
    notify: tuple[NotifyTarget, ...] = ()
    hosts: tuple[HostConfig, ...] = ()
    ssh: SSHConfig | None = None
    rollout: RolloutConfig = field(default_factory=RolloutConfig)

    @property
    def fleet(self) -> bool:
        """True when releases go to [[hosts]] over SSH rather than to this machine."""
        return bool(self.hosts)

    def timeout(self, step: str) -> float:
        """Seconds allowed for a stage: fetch, install, test, migrate, reload or health."""
        return self.timeouts.get(step, DEFAULT_TIMEOUTS.get(step, 600.0))

    @property
    def git_url_shown(self) -> str:
        """``git_url`` fit for pages, APIs and logs: credentials replaced by ``***``."""
        return mask_credentials(self.git_url)


# Without an explicit [commands] install: a fresh venv per release with the project installed
# into it (pyproject/setup.py). Per release, so a rollback gets exactly the environment it was
# tested with; `install = []` turns installing off.
DEFAULT_INSTALL: tuple[tuple[str, ...], ...] = (
    ("python3", "-m", "venv", ".venv"),
    (".venv/bin/pip", "install", "--quiet", "."),
)

DEFAULT_TIMEOUTS = {
    "fetch": 300.0,
    "install": 900.0,
    "test": 900.0,
    "migrate": 300.0,
    "reload": 60.0,
    "health": 60.0,
    "ship": 600.0,
}


class Table:
    """Typed reads from one TOML table; a wrong type becomes a problem, never a default."""

    def __init__(self, name: str, data: dict[str, Any], problems: list[str]) -> None:
        self.name = name
        self.data = data
        self.problems = problems
        self.problems_before = len(problems)

    def problem(self, message: str) -> None:
        """Record a problem about this table."""
        self.problems.append(f"[{self.name}] {message}")

    def get(self, key: str, kind: type, default: Any = None) -> Any:
        """The value of ``key`` if it has type ``kind`` (ints count as numbers), else default."""
        if key not in self.data:
            return default
        value = self.data[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
            return value
        self.problem(f"{key} must be {_TYPE_NAMES[kind]}, got {value!r}")
        return default

    def text(self, key: str, default: str | None = None, *, required: bool = False) -> Any:
        """A string value; required ones must also be non-empty."""
        value = self.get(key, str, None)
        if value is None and key in self.data:
            return default  # wrong type, already reported
        if required and (value is None or not value.strip()):
            self.problem(f"{key} is required (a non-empty string)")
            return default
        return default if value is None else value.strip()

    def strings(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...] | None:
        """A list of strings, or None when it is not one (reported)."""
        value = self.get(key, list, None)
        if value is None:
            return None if key in self.data else default
        if not all(isinstance(item, str) for item in value):
            self.problem(f"{key} must be a list of strings, got {value!r}")
            return None
        return tuple(value)

    def commands(self, key: str) -> tuple[tuple[str, ...], ...] | None:
        """A list of argument lists (never shell strings), or None when absent or wrong."""
        if key not in self.data:
            return None
        value = self.data[key]
        if not isinstance(value, list) or not all(
            isinstance(cmd, list) and cmd and all(isinstance(a, str) for a in cmd) for cmd in value
        ):
            # Argument lists only: a string would tempt someone to pass it to a shell.
            self.problem(
                f'{key} must be a list of argument lists, e.g. [["make", "test"]] '
                f"(no shell strings), got {value!r}"
            )
            return None
        return tuple(tuple(cmd) for cmd in value)

    def unknown_keys(self, known: set[str]) -> None:
        """Report keys this table does not define (typos would otherwise be ignored)."""
        for key in self.data:
            if key not in known:
                self.problem(f"unknown key {key!r} (known: {', '.join(sorted(known))})")


_RATE_LIMIT = re.compile(r"\s*\d+\s*(/|per)\s*\d*\s*(second|minute|hour|day)s?\s*")


def _server(t: Table) -> dict[str, Any]:
    t.unknown_keys(
        {
            "host",
            "port",
            "database_url",
            "max_body_bytes",
            "rate_limit",
            "signin_rate_limit",
            "allow_sha1",
            "providers",
            "trust_proxy",
            "trust_proxy_headers",
            "debounce_seconds",
            "output_cap_bytes",
        }
    )
    out: dict[str, Any] = {
        "host": t.get("host", str, "127.0.0.1"),
        "port": t.get("port", int, 9000),
        "database_url": t.get("database_url", str, ""),
        "max_body_bytes": t.get("max_body_bytes", int, 1024 * 1024),
        "rate_limit": t.get("rate_limit", str, "60/minute"),
        "signin_rate_limit": t.get("signin_rate_limit", str, "5/minute"),
        "allow_sha1": t.get("allow_sha1", bool, False),
        "trust_proxy": t.get("trust_proxy", int, 0),
        "debounce_seconds": t.get("debounce_seconds", float, 2.0),
        "output_cap_bytes": t.get("output_cap_bytes", int, 64 * 1024),
    }
    if not 0 <= out["port"] <= 65535:
        t.problem("port must be between 0 and 65535")
    if out["max_body_bytes"] < 1024:
        t.problem("max_body_bytes must be at least 1024")
    for key in ("rate_limit", "signin_rate_limit"):
        if not _RATE_LIMIT.fullmatch(out[key]):
            t.problem(f"{key} {out[key]!r} is not like '60/minute'")
    if out["trust_proxy"] < 0:
        t.problem("trust_proxy must be 0 (no proxy) or the number of proxies in front")
    if out["debounce_seconds"] < 0:
        t.problem("debounce_seconds must not be negative")
    providers = t.strings("providers", PROVIDERS)
    if providers is not None and not set(providers) <= set(PROVIDERS):
        t.problem(f"providers must be drawn from {list(PROVIDERS)}, got {list(providers)!r}")
        providers = None
    out["providers"] = providers or PROVIDERS
    headers = t.strings("trust_proxy_headers", DEFAULT_PROXY_HEADERS)
    if headers is not None and not set(headers) <= set(PROXY_HEADERS):
        t.problem(f"trust_proxy_headers must be drawn from {list(PROXY_HEADERS)}")
        headers = None
    out["trust_proxy_headers"] = DEFAULT_PROXY_HEADERS if headers is None else headers
    return out


def _app(t: Table) -> dict[str, Any]:
    t.unknown_keys(
        {"name", "repository", "git_url", "branch", "deploy_to", "keep_releases", "shared"}
    )
    out = {key: t.text(key, "", required=True) for key in ("name", "repository", "git_url")}
    out["branch"] = t.text("branch", "", required=True)
    raw_deploy_to = t.text("deploy_to", "", required=True)
    if out["branch"] and not valid_branch(out["branch"]):
        t.problem(f"branch {out['branch']!r} is not a valid branch name")
    if out["name"] and not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", out["name"]):
        t.problem("name may only contain letters, digits, '.', '_' and '-'")
    if raw_deploy_to and not Path(raw_deploy_to).is_absolute():
        t.problem(f"deploy_to must be an absolute path, got {raw_deploy_to!r}")
    out["deploy_to"] = Path(raw_deploy_to or "/nonexistent")
    out["deploy_to_given"] = bool(raw_deploy_to)
    out["keep_releases"] = t.get("keep_releases", int, 5)
    if out["keep_releases"] < 2:
        t.problem("keep_releases must be at least 2 (the live and the previous)")
    shared = t.strings("shared", ())
    if shared is not None and not all(
        p and not p.startswith("/") and ".." not in Path(p).parts for p in shared
    ):
        t.problem("shared must be a list of relative paths without '..'")
        shared = None
    out["shared_paths"] = shared or ()
    return out


def _commands(t: Table) -> dict[str, Any]:
    t.unknown_keys({"install", "test", "migrate", "env", "allow_no_tests"})
    install = t.commands("install")
    test = t.commands("test")
    allow_no_tests = t.get("allow_no_tests", bool, False)
    if "test" not in t.data:
        t.problem("test is required: deployhook never deploys untested code")
    elif test == () and not allow_no_tests:
        t.problem(
            "test is empty, so nothing would gate a deploy; list the test commands, or write "
            "allow_no_tests = true to deploy untested code on purpose"
        )
    env = t.get("env", dict, {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        t.problem(f"env must be a table of strings, got {env!r}")
        env = {}
    for name, value in env.items():
        if "\n" in value or "\0" in value:
            # Fleet hosts receive the values one per line (never on a command line).
            t.problem(f"env value of {name} holds a line break or NUL; use one line")
    return {
        "install": DEFAULT_INSTALL if "install" not in t.data else install or (),
        "test": test or (),
        "allow_no_tests": allow_no_tests,
        "migrate": t.commands("migrate") or (),
        "env": dict(env),
    }


def _timeouts(t: Table) -> dict[str, Any]:
    t.unknown_keys(set(DEFAULT_TIMEOUTS))
    timeouts: dict[str, float] = {}
    for key in DEFAULT_TIMEOUTS:
        value = t.get(key, float, None)
        if value is None:
            continue
        if value <= 0:
            t.problem(f"{key} must be positive")
        timeouts[key] = value
    return {"timeouts": timeouts}


def _reload(t: Table, base_dir: Path, fleet: bool = False) -> dict[str, Any]:
    t.unknown_keys({"method", "pidfile", "command"})
    method = t.get("method", str, "gunicorn-usr2")
    out: dict[str, Any] = {"reload_method": method, "reload_pidfile": None, "reload_command": ()}
    pidfile = t.get("pidfile", str, None)
    command = t.strings("command", ())
    if method not in RELOAD_METHODS:
        t.problem(f"method must be one of {list(RELOAD_METHODS)}, got {method!r}")
    elif method == "gunicorn-usr2":
        if not pidfile:
            # A fleet names a pidfile per host ([[hosts]] pidfile).
            if pidfile == "" or ("pidfile" not in t.data and not fleet):
                t.problem("pidfile is required for method 'gunicorn-usr2'")
        else:
            out["reload_pidfile"] = (
                Path(pidfile) if Path(pidfile).is_absolute() else base_dir / pidfile
            )
    elif method == "command":
        if not command:
            if command is not None:
                t.problem("command must be an argument list for method 'command'")
        else:
            out["reload_command"] = command
    return out


def _health(t: Table, reload_method: str, fleet: bool = False) -> dict[str, Any]:
    t.unknown_keys({"url", "commit_field", "interval", "confirmations"})
    url = t.get("url", str, None)
    if url is not None:
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            t.problem(f"url must be an http(s) URL, got {url!r}")
    elif "url" not in t.data and reload_method != "none" and not fleet:
        t.problem("url is required when the app server is reloaded")
    out = {
        "health_url": url,
        "health_commit_field": t.get("commit_field", str, "commit"),
        "health_interval": t.get("interval", float, 0.5),
        "health_confirmations": t.get("confirmations", int, 3),
    }
    if out["health_interval"] <= 0:
        t.problem("interval must be positive")
    if out["health_confirmations"] < 1:
        t.problem("confirmations must be at least 1")
    return out


def _secrets(env: dict[str, str], require_secret: bool, problems: list[str]) -> dict[str, Any]:
    secret = env.get(SECRET_ENV, "")
    if require_secret:
        if not secret.strip():
            problems.append(
                f"{SECRET_ENV} is empty or unset: refusing to run without a webhook secret "
                f"(set it in the environment or in .env; {GENERATE_HINT})"
            )
        elif weak := weak_secret_problem(SECRET_ENV, secret):
            problems.append(weak)
    token = env.get(OPERATOR_TOKEN_ENV) or None
    if token is not None and (weak := weak_secret_problem(OPERATOR_TOKEN_ENV, token)):
        problems.append(weak)
    return {"secret": secret if require_secret else "", "operator_token": token}


SECTIONS = ("server", "app", "commands", "timeouts", "reload", "health", "rollout", "ssh")
LISTS = ("notify", "hosts")
_EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+")


def _notify(items: Any, env: dict[str, str], problems: list[str]) -> tuple[NotifyTarget, ...]:
    """``[[notify]]``: a list of tables, each one target."""
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        problems.append(f"[[notify]] must be a list of tables, got {items!r}")
        return ()
    targets = []
    for n, item in enumerate(items, 1):
        target = _notify_target(Table(f"notify {n}", item, problems), env)
        if target is not None:
            targets.append(target)
    return tuple(targets)


def _notify_target(t: Table, env: dict[str, str]) -> NotifyTarget | None:
    t.unknown_keys(
        {"kind", "events", "url", "secret_env", "mail_url", "from", "to", "timeout", "attempts"}
    )
    kind = t.get("kind", str, "")
    if kind not in NOTIFY_KINDS:
        t.problem(f"kind must be one of {list(NOTIFY_KINDS)}, got {kind!r}")
        return None
    events = t.strings("events", NOTIFY_EVENTS)
    if events is not None and (not events or not set(events) <= set(NOTIFY_EVENTS)):
        t.problem(f"events must be drawn from {list(NOTIFY_EVENTS)}, got {list(events)!r}")
    fields: dict[str, Any] = {
        "kind": kind,
        "events": events or NOTIFY_EVENTS,
        "timeout": t.get("timeout", float, 5.0),
        "attempts": t.get("attempts", int, 3),
    }
    if fields["timeout"] <= 0:
        t.problem("timeout must be positive")
    if not 1 <= fields["attempts"] <= 10:
        t.problem("attempts must be between 1 and 10")
    if kind == "email":
        fields.update(_notify_email(t))
    else:
        fields.update(_notify_http(t, kind, env))
    return NotifyTarget(**fields)


def _notify_http(t: Table, kind: str, env: dict[str, str]) -> dict[str, Any]:
    url = t.get("url", str, "")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        t.problem(f"url is required for kind {kind!r} and must be an http(s) URL")
    out: dict[str, Any] = {"url": url}
    if kind == "webhook":
        variable = t.get("secret_env", str, NOTIFY_SECRET_ENV)
        secret = env.get(variable, "")
        if not secret:
            t.problem(f"{variable} is unset: a webhook notification is always signed")
        elif weak := weak_secret_problem(variable, secret):
            t.problem(weak)
        out["secret"] = secret
    elif "secret_env" in t.data:
        t.problem("secret_env only applies to kind 'webhook'")
    return out


def _notify_email(t: Table) -> dict[str, Any]:
    mail_url = t.get("mail_url", str, "")
    if urlparse(mail_url).scheme not in ("smtp", "smtps") or not urlparse(mail_url).hostname:
        t.problem(
            "mail_url must be like smtp://host:25, smtp://user:pass@host:587?starttls=1 "
            "or smtps://host:465"
        )
    sender = t.get("from", str, "")
    recipients = t.strings("to", ())
    if not _EMAIL.fullmatch(sender):
        t.problem(f"from must be an email address, got {sender!r}")
    if recipients is not None and (
        not recipients or not all(_EMAIL.fullmatch(r) for r in recipients)
    ):
        t.problem(f"to must be a non-empty list of email addresses, got {list(recipients)!r}")
    return {"mail_url": mail_url, "mail_from": sender, "mail_to": recipients or ()}


def _fleet(
    data: dict[str, Any],
    tables: dict[str, Table],
    fields: dict[str, Any],
    base_dir: Path,
    problems: list[str],
) -> dict[str, Any]:
    """``[[hosts]]``, ``[ssh]`` and ``[rollout]``: all three or none of them."""
    if "hosts" not in data:
        for name in ("ssh", "rollout"):
            if name in data:
                problems.append(f"[{name}] only applies to a fleet: add [[hosts]] entries")
        return {}
    hosts = _hosts(data["hosts"], fields, problems)
    ssh = _ssh(tables["ssh"], base_dir, "ssh" in data)
    raw = data["hosts"]
    rollout = _rollout(tables["rollout"], len(raw) if isinstance(raw, list) else 0)
    return {"hosts": hosts, "ssh": ssh, "rollout": rollout}


def _hosts(items: Any, fields: dict[str, Any], problems: list[str]) -> tuple[HostConfig, ...]:
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        problems.append(f"[[hosts]] must be a non-empty list of tables, got {items!r}")
        return ()
    hosts = []
    for n, item in enumerate(items, 1):
        host = _host(Table(f"hosts {n}", item, problems), fields)
        if host is not None:
            hosts.append(host)
    names = [item.get("name") for item in items]
    for name in sorted({n for n in names if isinstance(n, str) and names.count(n) > 1}):
        problems.append(f"[[hosts]] name {name!r} is used more than once")
    return tuple(hosts)


def _host(t: Table, fields: dict[str, Any]) -> HostConfig | None:
    t.unknown_keys(
        {
            "name",
            "address",
            "port",
            "user",
            "deploy_to",
            "health_url",
            "health_via",
            "reload_method",
            "pidfile",
            "reload_command",
        }
    )
    name = t.text("name", "", required=True)
    address = t.text("address", "", required=True)
    user = t.text("user", "deploy")
    port = t.get("port", int, 22)
    deploy_to = t.text("deploy_to", "", required=True)
    method = t.get("reload_method", str, fields["reload_method"])
    pidfile = t.get("pidfile", str, None)
    command = t.strings("reload_command", fields["reload_command"]) or ()
    health_url = t.get("health_url", str, None)
    health_via = t.get("health_via", str, "deploy-host")
    if health_via not in HEALTH_VIA:
        t.problem(f"health_via must be one of {list(HEALTH_VIA)}, got {health_via!r}")
    if name and not _HOST_NAME.fullmatch(name):
        t.problem(f"name {name!r} may only contain letters, digits, '.', '_' and '-'")
    if address and (not _ADDRESS.fullmatch(address) or address.startswith("-")):
        t.problem(f"address {address!r} is not a host name or an IP address")
    if user and not _USER.fullmatch(user):
        t.problem(f"user {user!r} is not a plain user name")
    if not 1 <= port <= 65535:
        t.problem("port must be between 1 and 65535")
    if deploy_to and not deploy_to.startswith("/"):
        t.problem(f"deploy_to must be an absolute path on the host, got {deploy_to!r}")
    if method not in RELOAD_METHODS:
        t.problem(f"reload_method must be one of {list(RELOAD_METHODS)}, got {method!r}")
    elif method == "gunicorn-usr2" and not (pidfile and pidfile.startswith("/")):
        t.problem("pidfile (an absolute path on the host) is required for 'gunicorn-usr2'")
    elif method == "command" and not command:
        t.problem("reload_command (an argument list) is required for reload_method 'command'")
    if health_url is not None:
        parsed = urlparse(health_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            t.problem(f"health_url must be an http(s) URL, got {health_url!r}")
    elif method != "none":
        t.problem("health_url is required when the host's app server is reloaded")
    if len(t.problems) != t.problems_before:
        return None
    return HostConfig(
        name=name,
        address=address,
        user=user,
        port=port,
        deploy_to=PurePosixPath(deploy_to),
        health_url=health_url,
        health_via=health_via,
        reload_method=method,
        reload_pidfile=PurePosixPath(pidfile) if pidfile else None,
        reload_command=tuple(command),
    )


def _ssh(t: Table, base_dir: Path, given: bool) -> SSHConfig | None:
    if not given:
        t.problem("a fleet needs [ssh] with key_file and known_hosts")
        return None
    t.unknown_keys({"key_file", "known_hosts", "connect_timeout", "allow_agent"})
    paths = {}
    for key in ("key_file", "known_hosts"):
        raw = t.text(key, "", required=True)
        path = Path(raw) if Path(raw).is_absolute() else base_dir / raw
        if raw and not path.is_file():
            # The path, never the file's content: a key must not reach any log.
            t.problem(f"{key} {path} does not exist or is not a file")
        paths[key] = path
    timeout = t.get("connect_timeout", float, 10.0)
    if timeout <= 0:
        t.problem("connect_timeout must be positive")
    return SSHConfig(
        key_file=paths["key_file"],
        known_hosts=paths["known_hosts"],
        connect_timeout=timeout,
        allow_agent=t.get("allow_agent", bool, False),
    )


def _rollout(t: Table, host_count: int) -> RolloutConfig:
    t.unknown_keys(
        {"canary", "batch_size", "pause_seconds", "abort", "package", "install", "exclude"}
    )
    canary = t.get("canary", int, 1)
    batch_size = t.get("batch_size", int, 1)
    pause = t.get("pause_seconds", float, 0.0)
    abort = t.get("abort", str, "rollback")
    exclude = t.strings("exclude", (".venv", ".git")) or ()
    if host_count and not 1 <= canary <= host_count:
        t.problem(f"canary must be between 1 and the number of hosts ({host_count})")
    if batch_size < 1:
        t.problem("batch_size must be at least 1")
    if pause < 0:
        t.problem("pause_seconds must not be negative")
    if abort not in ROLLOUT_ABORT:
        t.problem(f"abort must be one of {list(ROLLOUT_ABORT)}, got {abort!r}")
    if not all(p and not p.startswith("/") and ".." not in PurePosixPath(p).parts for p in exclude):
        t.problem("exclude must be a list of relative paths without '..'")
    return RolloutConfig(
        canary=canary,
        batch_size=batch_size,
        pause_seconds=pause,
        abort=abort,
        package=t.commands("package") or (),
        install=t.commands("install") or (),
        exclude=tuple(exclude),
    )


def config_from_dict(
    data: dict[str, Any],
    environ: dict[str, str] | None = None,
    base_dir: Path | None = None,
    *,
    require_secret: bool = True,
) -> Config:
    """Validate a parsed TOML document plus environment; raise ConfigError listing all problems.

    ``require_secret=False`` is for read-only commands (history, status), which never receive
    a webhook and so must not need its secret.
    """
    env = dict(os.environ if environ is None else environ)
    base_dir = base_dir or Path.cwd()
    problems: list[str] = []
    tables: dict[str, Table] = {}
    for name in data:
        if name not in SECTIONS and name not in LISTS:
            known = ", ".join((*SECTIONS, *LISTS))
            problems.append(f"unknown section [{name}] (known: {known})")
    for name in SECTIONS:
        value = data.get(name, {})
        if not isinstance(value, dict):
            problems.append(f"[{name}] must be a table, got {value!r}")
            value = {}
        tables[name] = Table(name, value, problems)

    fields: dict[str, Any] = _secrets(env, require_secret, problems)
    fields.update(_server(tables["server"]))
    app = _app(tables["app"])
    fields.update(_commands(tables["commands"]))
    fields.update(_timeouts(tables["timeouts"]))
    fleet = "hosts" in data
    fields.update(_reload(tables["reload"], base_dir, fleet))
    fields.update(_health(tables["health"], fields["reload_method"], fleet))
    fields["notify"] = _notify(data.get("notify", []), env, problems)
    fields.update(_fleet(data, tables, fields, base_dir, problems))
    if problems:
        raise ConfigError(problems)

    if not fields["database_url"] and app["deploy_to_given"]:
        fields["database_url"] = f"sqlite:///{app['deploy_to'] / 'deployhook.sqlite3'}"
    return Config(
        app_name=app["name"],
        repository=app["repository"],
        git_url=app["git_url"],
        branch=app["branch"],
        deploy_to=app["deploy_to"],
        keep_releases=app["keep_releases"],
        shared_paths=app["shared_paths"],
        **fields,
    )


def load_config(
    path: str | os.PathLike[str] | None = None, *, require_secret: bool = True
) -> Config:
    """Read the TOML file (``--config`` or $DEPLOYHOOK_CONFIG) and secrets from env or .env."""
    raw_path = path or os.environ.get(CONFIG_ENV)
    if not raw_path:
        raise ConfigError([f"no config file: pass --config or set {CONFIG_ENV}"])
    config_path = Path(raw_path).resolve()
    try:
        data = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"config file {config_path} does not exist"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{config_path}: invalid TOML: {exc}"]) from None
    # Real environment wins over .env, as python-dotenv's load_dotenv(override=False) does;
    # read the values without mutating os.environ so tests stay isolated.
    environ: dict[str, str] = {}
    for candidate in (Path.cwd() / ".env", config_path.parent / ".env"):
        if candidate.is_file():
            environ.update({k: v for k, v in dotenv_values(candidate).items() if v is not None})
    environ.update(os.environ)
    return config_from_dict(
        data, environ, base_dir=config_path.parent, require_secret=require_secret
    )
