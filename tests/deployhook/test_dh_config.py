"""Config: every problem reported at once, secrets required, the shipped example is valid."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from dh_helpers import SECRET, base_config

from deployhook.config import ConfigError, config_from_dict, load_config, valid_branch

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "deployhook.example.toml"
DEPLOYHOOK = Path(sys.executable).parent / "deployhook"


def test_example_config_is_valid() -> None:
    data = tomllib.loads(EXAMPLE.read_text())
    cfg = config_from_dict(data, {"DEPLOYHOOK_SECRET": SECRET})
    assert cfg.app_name == "bookshelf" and cfg.reload_method == "gunicorn-usr2"
    # The gate runs the test suite in its own environment, never `make test` (which would
    # re-install bookshelf into the release's .venv that goes live).
    assert ("make", "test") not in cfg.test
    assert cfg.test[-1][:4] == (".venv-test/bin/python", "-B", "-m", "pytest")
    assert cfg.operator_token is None  # operator views off until a token is set


def test_default_install_is_a_venv_per_release(tmp_path: Path) -> None:
    data = base_config(tmp_path)
    del data["commands"]["install"]
    cfg = config_from_dict(data, {"DEPLOYHOOK_SECRET": SECRET})
    assert cfg.install == (
        ("python3", "-m", "venv", ".venv"),
        (".venv/bin/pip", "install", "--quiet", "."),
    )
    data["commands"]["install"] = []
    assert config_from_dict(data, {"DEPLOYHOOK_SECRET": SECRET}).install == ()


def test_env_values_are_single_lines(tmp_path: Path) -> None:
    data = base_config(tmp_path)
    data["commands"]["env"] = {"GREETING": "two\nlines"}
    with pytest.raises(ConfigError, match="env value of GREETING holds a line break"):
        config_from_dict(data, {"DEPLOYHOOK_SECRET": SECRET})


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    data = base_config(tmp_path)
    data["app"].update(branch="main; rm -rf /", deploy_to="relative/dir", keep_releases=1)
    data["commands"] = {"install": "pip install -r requirements.txt", "test": [["ok"], "bad"]}
    data["reload"] = {"method": "gunicorn-usr2"}
    data["health"] = {"url": "ftp://example"}
    data["server"]["port"] = 70000
    data["server"]["bogus"] = 1
    data["extra"] = {}
    with pytest.raises(ConfigError) as err:
        config_from_dict(data, {"DEPLOYHOOK_SECRET": "", "DEPLOYHOOK_OPERATOR_TOKEN": "short"})
    text = "\n".join(err.value.problems)
    for expected in (
        "DEPLOYHOOK_SECRET is empty",
        "DEPLOYHOOK_OPERATOR_TOKEN is 5 characters long",
        "branch 'main; rm -rf /' is not a valid",
        "deploy_to must be an absolute path",
        "keep_releases must be at least 2",
        "[commands] install must be a list of argument lists",
        "[commands] test must be a list of argument lists",
        "pidfile is required",
        "[health] url must be an http(s) URL",
        "port must be between",
        "unknown key 'bogus'",
        "unknown section [extra]",
    ):
        assert expected in text
    assert len(err.value.problems) >= 12


def test_secret_from_dotenv_next_to_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEPLOYHOOK_SECRET", raising=False)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "dh.toml"
    path.write_text(
        f"""
[app]
name = "widget"
repository = "acme/widget"
git_url = "{tmp_path}/origin.git"
branch = "main"
deploy_to = "{tmp_path}/srv"
[commands]
test = [["true"]]
[reload]
method = "none"
"""
    )
    with pytest.raises(ConfigError, match="DEPLOYHOOK_SECRET"):
        load_config(path)
    from_dotenv, from_env = "from-dotenv-" + "0123456789abcdef" * 2, "from-env-" + "9" * 8 + SECRET
    (tmp_path / ".env").write_text(f"DEPLOYHOOK_SECRET={from_dotenv}\n")
    assert load_config(path).secret == from_dotenv
    monkeypatch.setenv("DEPLOYHOOK_SECRET", from_env)
    assert load_config(path).secret == from_env  # the real environment wins


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[app\nname=")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("main", True),
        ("release/2.0", True),
        ("feature_x-1", True),
        ("../etc", False),
        ("-rf", False),
        ("a..b", False),
        ("main;id", False),
        ("$(id)", False),
        ("a b", False),
        ("x.lock", False),
        ("trailing/", False),
        ("", False),
    ],
)
def test_branch_validation(name: str, ok: bool) -> None:
    assert valid_branch(name) is ok


def test_serve_refuses_to_start_without_secret(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run(
        [str(DEPLOYHOOK), "serve", "--config", str(EXAMPLE)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "DEPLOYHOOK_SECRET is empty or unset" in proc.stderr


def test_check_config_cli(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DEPLOYHOOK_SECRET": SECRET}
    ok = subprocess.run(
        [str(DEPLOYHOOK), "check-config", "--config", str(EXAMPLE)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert "config OK" in ok.stdout
    broken = tmp_path / "broken.toml"
    broken.write_text(EXAMPLE.read_text().replace('branch = "main"', 'branch = "x..y"'))
    bad = subprocess.run(
        [str(DEPLOYHOOK), "check-config", "--config", str(broken)],
        env=dict(env, DEPLOYHOOK_SECRET=""),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2
    assert "DEPLOYHOOK_SECRET" in bad.stderr and "x..y" in bad.stderr


WRONG_TYPES = [
    ("server", "host", 1, "string"),
    ("server", "port", "9000", "integer"),
    ("server", "database_url", 5, "string"),
    ("server", "max_body_bytes", "1m", "integer"),
    ("server", "rate_limit", 60, "string"),
    ("server", "allow_sha1", "yes", "boolean"),
    ("server", "providers", "github", "list"),
    ("server", "trust_proxy", True, "integer"),
    ("server", "trust_proxy_headers", "host", "list"),
    ("server", "debounce_seconds", "2", "number"),
    ("server", "output_cap_bytes", 1.5, "integer"),
    ("app", "name", 1, "string"),
    ("app", "repository", ["a/b"], "string"),
    ("app", "git_url", 1, "string"),
    ("app", "branch", 1, "string"),
    ("app", "deploy_to", 1, "string"),
    ("app", "keep_releases", "5", "integer"),
    ("app", "shared", ".env", "list"),
    ("commands", "install", "make", "list"),
    ("commands", "test", "make test", "list"),
    ("commands", "migrate", {"a": 1}, "list"),
    ("commands", "env", ["A=1"], "table"),
    ("commands", "allow_no_tests", "yes", "boolean"),
    ("timeouts", "fetch", "10", "number"),
    ("reload", "method", 1, "string"),
    ("reload", "pidfile", 1, "string"),
    ("reload", "command", "systemctl reload x", "list"),
    ("health", "url", 1, "string"),
    ("health", "commit_field", 1, "string"),
    ("health", "interval", "0.5", "number"),
    ("health", "confirmations", "3", "integer"),
]


@pytest.mark.parametrize(("section", "key", "value", "expected"), WRONG_TYPES)
def test_every_key_is_type_checked(
    tmp_path: Path, section: str, key: str, value: object, expected: str
) -> None:
    data = base_config(tmp_path)
    if section == "reload" and key == "pidfile":
        data["reload"] = {"method": "gunicorn-usr2"}
    data.setdefault(section, {})[key] = value
    with pytest.raises(ConfigError) as err:
        config_from_dict(data, {"DEPLOYHOOK_SECRET": SECRET})
    mine = [p for p in err.value.problems if f"[{section}] {key} " in p]
    assert mine, err.value.problems
    assert expected in mine[0] and repr(value) in mine[0], mine[0]


def test_empty_test_list_needs_allow_no_tests(tmp_path: Path) -> None:
    data = base_config(tmp_path, commands={"test": []})
    with pytest.raises(ConfigError, match=r"\[commands\] test is empty.*allow_no_tests = true"):
        config_from_dict(data, {"DEPLOYHOOK_SECRET": SECRET})
    data["commands"]["allow_no_tests"] = True
    assert config_from_dict(data, {"DEPLOYHOOK_SECRET": SECRET}).test == ()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DEPLOYHOOK_SECRET", "a"),
        ("DEPLOYHOOK_SECRET", "readme-demo-secret"),
        ("DEPLOYHOOK_SECRET", "a" * 64),
        ("DEPLOYHOOK_SECRET", "ab" * 32),
        ("DEPLOYHOOK_OPERATOR_TOKEN", "operator-token-0123456789"),
        ("DEPLOYHOOK_OPERATOR_TOKEN", "x" * 40),
    ],
)
def test_weak_secrets_are_refused_with_how_to_generate(
    tmp_path: Path, variable: str, value: str
) -> None:
    env = {"DEPLOYHOOK_SECRET": SECRET, variable: value}
    with pytest.raises(ConfigError) as err:
        config_from_dict(base_config(tmp_path), env)
    (problem,) = [p for p in err.value.problems if variable in p]
    assert "openssl rand -hex 32" in problem
    if len(value) > 3:
        assert value not in problem  # the weak value itself is never echoed


def test_generated_secrets_are_accepted(tmp_path: Path) -> None:
    import secrets

    for _ in range(200):
        env = {
            "DEPLOYHOOK_SECRET": secrets.token_hex(32),
            "DEPLOYHOOK_OPERATOR_TOKEN": secrets.token_hex(16),
        }
        config_from_dict(base_config(tmp_path), env)


def test_check_config_names_every_wrong_type_and_exits_2(tmp_path: Path) -> None:
    text = EXAMPLE.read_text()
    text = text.replace("allow_sha1 = false", 'allow_sha1 = "yes"')
    text = text.replace("port = 9000", 'port = "9000"')
    text = re.sub(r"(?ms)^test = \[$.*?^\]$", "test = []", text)
    broken = tmp_path / "types.toml"
    broken.write_text(text)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DEPLOYHOOK_SECRET": SECRET}
    proc = subprocess.run(
        [str(DEPLOYHOOK), "check-config", "--config", str(broken)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stdout
    assert "[server] allow_sha1 must be a boolean, got 'yes'" in proc.stderr
    assert "[server] port must be an integer, got '9000'" in proc.stderr
    assert "[commands] test is empty" in proc.stderr


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("main", True),
        ("release/2.0", True),
        ("feature_x-1", True),
        ("ü-branch", True),
        ("a+b", True),
        ("main\n", False),
        ("main\t", False),
        ("a..b", False),
        ("a/.b", False),
        (".a", False),
        ("a.", False),
        ("a//b", False),
        ("a/", False),
        ("/a", False),
        ("a.lock", False),
        ("a.lock/b", False),
        ("a@{b", False),
        ("@", True),
        ("a b", False),
        ("a~b", False),
        ("a^b", False),
        ("a:b", False),
        ("a?b", False),
        ("a*b", False),
        ("a[b", False),
        ("a\\b", False),
        ("a\x7fb", False),
        ("-rf", True),  # valid as a ref; valid_branch is stricter (never an option to git)
        ("main;id", True),
        ("$(id)", True),
    ],
)
def test_ref_validation_agrees_with_git(name: str, ok: bool) -> None:
    from deployhook.config import valid_ref

    # git itself is the reference: the same answer as `git check-ref-format --branch`.
    proc = subprocess.run(
        ["git", "check-ref-format", f"refs/heads/{name}"], capture_output=True, check=False
    )
    assert (proc.returncode == 0) is ok, "test table disagrees with git"
    assert valid_ref(f"refs/heads/{name}") is ok


def test_nginx_example_sets_exactly_the_forwarded_headers_deployhook_trusts() -> None:
    from deployhook.config import DEFAULT_PROXY_HEADERS, PROXY_HEADERS

    site = (ROOT / "deploy" / "nginx-deployhook.conf").read_text()
    webhook = site[site.index("location = /webhook") :].split("}", 1)[0]
    sets = dict(re.findall(r"proxy_set_header\s+X-Forwarded-(\w+)\s+(\S+?);", webhook))
    set_names = {name.lower() for name, value in sets.items() if value != '""'}
    cleared = {name.lower() for name, value in sets.items() if value == '""'}
    assert set_names == set(DEFAULT_PROXY_HEADERS)
    assert cleared == set(PROXY_HEADERS) - set(DEFAULT_PROXY_HEADERS)


def test_serve_refuses_a_weak_secret_and_says_how_to_make_one(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DEPLOYHOOK_SECRET": "hunter2"}
    proc = subprocess.run(
        [str(DEPLOYHOOK), "serve", "--config", str(EXAMPLE)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "DEPLOYHOOK_SECRET is 7 characters long" in proc.stderr
    assert "openssl rand -hex 32" in proc.stderr and "hunter2" not in proc.stderr
