"""Config: every problem reported at once, secrets required, the shipped example is valid."""

from __future__ import annotations

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
    # The gate runs pytest from a separate .venv-test; `make test` would change .venv.
    assert ("make", "test") not in cfg.test and cfg.test[-1][:2] == (".venv-test/bin/python", "-B")
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
        "DEPLOYHOOK_OPERATOR_TOKEN must be at least 16",
        "branch 'main; rm -rf /' is not a valid",
        "deploy_to must be an absolute path",
        "keep_releases must be at least 2",
        "[commands] install: must be a list of argument lists",
        "[commands] test: must be a list of argument lists",
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
    (tmp_path / ".env").write_text("DEPLOYHOOK_SECRET=from-dotenv\n")
    assert load_config(path).secret == "from-dotenv"
    monkeypatch.setenv("DEPLOYHOOK_SECRET", "from-env")
    assert load_config(path).secret == "from-env"  # the real environment wins


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
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DEPLOYHOOK_SECRET": "x" * 32}
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
