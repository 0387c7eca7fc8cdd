"""Configuration: one TOML file plus secrets from the environment (or a .env file)."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from dotenv import dotenv_values

CONFIG_ENV = "DEPLOYHOOK_CONFIG"
SECRET_ENV = "DEPLOYHOOK_SECRET"  # noqa: S105 - a variable name, not a secret
OPERATOR_TOKEN_ENV = "DEPLOYHOOK_OPERATOR_TOKEN"  # noqa: S105 - a variable name

PROVIDERS = ("github", "gitea", "forgejo", "gogs", "gitlab")
RELOAD_METHODS = ("gunicorn-usr2", "command", "none")
# A conservative subset of git-check-ref-format: no "..", no leading "-" or "/", no shell
# metacharacters. Anything outside it is refused rather than escaped.
_BRANCH_RE = re.compile(
    r"^(?!-)(?!/)(?!.*\.\.)(?!.*//)(?!.*@\{)[A-Za-z0-9._/-]{1,200}(?<!/)(?<!\.lock)(?<!\.)$"
)


class ConfigError(Exception):
    """Raised with every problem found, so an operator fixes them all in one go."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def valid_branch(name: str) -> bool:
    """Return True when ``name`` is a branch name we are willing to pass to git."""
    return bool(_BRANCH_RE.match(name))


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
    allow_sha1: bool = False
    providers: tuple[str, ...] = PROVIDERS
    trust_proxy: int = 0
    debounce_seconds: float = 2.0
    keep_releases: int = 5
    shared_paths: tuple[str, ...] = ()
    install: tuple[tuple[str, ...], ...] = ()
    test: tuple[tuple[str, ...], ...] = ()
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

    def timeout(self, step: str) -> float:
        """Seconds allowed for a stage: fetch, install, test, migrate, reload or health."""
        return self.timeouts.get(step, DEFAULT_TIMEOUTS.get(step, 600.0))


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
}

_KNOWN = {
    "server": {
        "host",
        "port",
        "database_url",
        "max_body_bytes",
        "rate_limit",
        "allow_sha1",
        "providers",
        "trust_proxy",
        "debounce_seconds",
        "output_cap_bytes",
    },
    "app": {"name", "repository", "git_url", "branch", "deploy_to", "keep_releases", "shared"},
    "commands": {"install", "test", "migrate", "env"},
    "timeouts": set(DEFAULT_TIMEOUTS),
    "reload": {"method", "pidfile", "command"},
    "health": {"url", "commit_field", "interval", "confirmations"},
}


def _commands(value: Any, where: str, problems: list[str]) -> tuple[tuple[str, ...], ...]:
    # Argument lists only: a string would tempt someone to pass it to a shell.
    if value is None:
        return ()
    if not isinstance(value, list) or not all(
        isinstance(cmd, list) and cmd and all(isinstance(a, str) for a in cmd) for cmd in value
    ):
        problems.append(
            f'{where}: must be a list of argument lists, e.g. [["make", "test"]] (no shell strings)'
        )
        return ()
    return tuple(tuple(cmd) for cmd in value)


def config_from_dict(
    data: dict[str, Any], environ: dict[str, str] | None = None, base_dir: Path | None = None
) -> Config:
    """Validate a parsed TOML document plus environment; raise ConfigError listing all problems."""
    env = dict(os.environ if environ is None else environ)
    base_dir = base_dir or Path.cwd()
    problems: list[str] = []

    for section, value in data.items():
        if section not in _KNOWN:
            problems.append(f"unknown section [{section}] (known: {', '.join(sorted(_KNOWN))})")
        elif not isinstance(value, dict):
            problems.append(f"[{section}] must be a table")
        else:
            for key in value:
                if key not in _KNOWN[section]:
                    problems.append(f"[{section}] unknown key {key!r}")

    def sec(name: str) -> dict[str, Any]:
        value = data.get(name, {})
        return value if isinstance(value, dict) else {}

    server, app, commands, timeouts = sec("server"), sec("app"), sec("commands"), sec("timeouts")
    reload, health = sec("reload"), sec("health")

    def typed(table: dict[str, Any], where: str, key: str, kind: type, default: Any) -> Any:
        value = table.get(key, default)
        if value is None:
            return None
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            problems.append(f"[{where}] {key} must be a {kind.__name__}, got {value!r}")
            return default
        return value

    secret = env.get(SECRET_ENV, "")
    if not secret.strip():
        problems.append(
            f"{SECRET_ENV} is empty or unset: refusing to run without a webhook secret "
            "(set it in the environment or in .env)"
        )
    operator_token = env.get(OPERATOR_TOKEN_ENV) or None
    if operator_token is not None and len(operator_token) < 16:
        problems.append(f"{OPERATOR_TOKEN_ENV} must be at least 16 characters")

    required: dict[str, str] = {}
    for key in ("name", "repository", "git_url", "branch", "deploy_to"):
        value = app.get(key)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"[app] {key} is required (a non-empty string)")
            required[key] = ""
        else:
            required[key] = value.strip()
    if required["branch"] and not valid_branch(required["branch"]):
        problems.append(f"[app] branch {required['branch']!r} is not a valid branch name")
    if required["name"] and not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", required["name"]):
        problems.append("[app] name may only contain letters, digits, '.', '_' and '-'")
    deploy_to = Path(required["deploy_to"] or "/nonexistent")
    if required["deploy_to"] and not deploy_to.is_absolute():
        problems.append(f"[app] deploy_to must be an absolute path, got {required['deploy_to']!r}")

    keep = typed(app, "app", "keep_releases", int, 5)
    if isinstance(keep, int) and keep < 2:
        problems.append("[app] keep_releases must be at least 2 (the live and the previous)")
    shared = app.get("shared", [])
    if not isinstance(shared, list) or not all(
        isinstance(p, str) and p and not p.startswith("/") and ".." not in Path(p).parts
        for p in shared
    ):
        problems.append("[app] shared must be a list of relative paths without '..'")
        shared = []

    providers = server.get("providers", list(PROVIDERS))
    if not isinstance(providers, list) or not all(p in PROVIDERS for p in providers):
        problems.append(f"[server] providers must be a list drawn from {list(PROVIDERS)}")
        providers = list(PROVIDERS)
    rate_limit = typed(server, "server", "rate_limit", str, "60/minute")
    if isinstance(rate_limit, str) and not re.fullmatch(
        r"\s*\d+\s*(/|per)\s*\d*\s*(second|minute|hour|day)s?\s*", rate_limit
    ):
        problems.append(f"[server] rate_limit {rate_limit!r} is not like '60/minute'")
    database_url = typed(server, "server", "database_url", str, "")
    if not database_url and required["deploy_to"]:
        database_url = f"sqlite:///{deploy_to / 'deployhook.sqlite3'}"
    port = typed(server, "server", "port", int, 9000)
    if isinstance(port, int) and not 0 <= port <= 65535:
        problems.append("[server] port must be between 0 and 65535")
    max_body = typed(server, "server", "max_body_bytes", int, 1024 * 1024)
    if isinstance(max_body, int) and max_body < 1024:
        problems.append("[server] max_body_bytes must be at least 1024")

    if "install" in commands:
        install = _commands(commands.get("install"), "[commands] install", problems)
    else:
        install = DEFAULT_INSTALL
    test = _commands(commands.get("test"), "[commands] test", problems)
    migrate = _commands(commands.get("migrate"), "[commands] migrate", problems)
    if not test and "test" not in commands:
        problems.append("[commands] test is required: deployhook never deploys untested code")
    cmd_env = commands.get("env", {})
    if not isinstance(cmd_env, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in cmd_env.items()
    ):
        problems.append("[commands] env must be a table of strings")
        cmd_env = {}

    parsed_timeouts: dict[str, float] = {}
    for key in timeouts:
        value = typed(timeouts, "timeouts", key, float, DEFAULT_TIMEOUTS.get(key, 60.0))
        if isinstance(value, float):
            if value <= 0:
                problems.append(f"[timeouts] {key} must be positive")
            parsed_timeouts[key] = value

    method = reload.get("method", "gunicorn-usr2")
    pidfile: Path | None = None
    reload_command: tuple[str, ...] = ()
    if method not in RELOAD_METHODS:
        problems.append(f"[reload] method must be one of {list(RELOAD_METHODS)}, got {method!r}")
    elif method == "gunicorn-usr2":
        raw = reload.get("pidfile")
        if not isinstance(raw, str) or not raw:
            problems.append("[reload] pidfile is required for method 'gunicorn-usr2'")
        else:
            pidfile = Path(raw) if Path(raw).is_absolute() else base_dir / raw
    elif method == "command":
        cmd = reload.get("command")
        if not isinstance(cmd, list) or not cmd or not all(isinstance(a, str) for a in cmd):
            problems.append("[reload] command must be an argument list for method 'command'")
        else:
            reload_command = tuple(cmd)

    health_url = health.get("url")
    if health_url is not None:
        parsed = urlparse(health_url) if isinstance(health_url, str) else None
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
            problems.append(f"[health] url must be an http(s) URL, got {health_url!r}")
    elif method != "none":
        problems.append("[health] url is required when the app server is reloaded")
    interval = typed(health, "health", "interval", float, 0.5)
    confirmations = typed(health, "health", "confirmations", int, 3)
    if isinstance(confirmations, int) and confirmations < 1:
        problems.append("[health] confirmations must be at least 1")

    if problems:
        raise ConfigError(problems)
    return Config(
        secret=secret,
        operator_token=operator_token,
        app_name=required["name"],
        repository=required["repository"],
        git_url=required["git_url"],
        branch=required["branch"],
        deploy_to=deploy_to,
        host=typed(server, "server", "host", str, "127.0.0.1"),
        port=port,
        database_url=database_url,
        max_body_bytes=max_body,
        rate_limit=rate_limit,
        allow_sha1=typed(server, "server", "allow_sha1", bool, False),
        providers=tuple(providers),
        trust_proxy=typed(server, "server", "trust_proxy", int, 0),
        debounce_seconds=typed(server, "server", "debounce_seconds", float, 2.0),
        output_cap_bytes=typed(server, "server", "output_cap_bytes", int, 64 * 1024),
        keep_releases=keep,
        shared_paths=tuple(shared),
        install=install,
        test=test,
        migrate=migrate,
        env=dict(cmd_env),
        timeouts=parsed_timeouts,
        reload_method=method,
        reload_pidfile=pidfile,
        reload_command=reload_command,
        health_url=health_url,
        health_commit_field=typed(health, "health", "commit_field", str, "commit"),
        health_interval=interval,
        health_confirmations=confirmations,
    )


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
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
    return config_from_dict(data, environ, base_dir=config_path.parent)
