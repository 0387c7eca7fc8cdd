"""The example nginx site in front of a real `deployhook serve`: the headers nginx sets are the
ones deployhook believes, and a client's own X-Forwarded-Host never reaches generated URLs."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import urllib.request
from pathlib import Path

import pytest
from dh_helpers import SECRET, base_config, github_request, push_payload, start_deployhook, to_toml

from support import free_port, start_server, stop_group

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed")
def test_example_nginx_location_in_front_of_deployhook(tmp_path: Path) -> None:
    dh_port, nginx_port = free_port(), free_port()
    config = tmp_path / "dh.toml"
    config.write_text(to_toml(base_config(tmp_path / "srv", server={"trust_proxy": 1})))
    site = (ROOT / "deploy" / "nginx-deployhook.conf").read_text()
    location = re.search(r"location = /webhook \{.*?\n    \}", site, re.S)
    assert location, "the example has no /webhook location"
    block = location.group(0).replace("127.0.0.1:9000", f"127.0.0.1:{dh_port}")
    temp = tmp_path / "nginx-tmp"
    temp.mkdir()
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        "daemon off;\nmaster_process off;\nevents {}\n"
        f"http {{ access_log off; client_body_temp_path {temp}; proxy_temp_path {temp};\n"
        f"  server {{ listen 127.0.0.1:{nginx_port}; {block} }}\n}}\n"
    )
    env = dict(os.environ, DEPLOYHOOK_SECRET=SECRET)
    args = ("--config", config, "--port", str(dh_port))
    server = start_deployhook(dh_port, tmp_path / "deployhook.log", env, *args, cwd=tmp_path)
    nginx = start_server(["nginx", "-c", tmp_path / "nginx.conf"], tmp_path / "nginx.log")
    try:
        body, headers = github_request(push_payload())
        headers["X-Forwarded-Host"] = "evil.example"
        headers["X-Forwarded-Proto"] = "https"
        request = urllib.request.Request(
            f"http://127.0.0.1:{nginx_port}/webhook", data=body, headers=headers
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(request, timeout=5) as resp:  # noqa: S310 - loopback
                    answer = json.loads(resp.read())
                break
            except OSError:
                assert time.monotonic() < deadline, "nginx did not come up"
                time.sleep(0.2)
        # nginx replaced the client's proto with its own scheme and dropped the forwarded host;
        # the host is nginx's $host (the request's Host without the port).
        assert answer["status"] == "queued"
        assert answer["status_url"].startswith("http://127.0.0.1/api/deploys/"), answer
        assert "evil" not in answer["status_url"]
    finally:
        stop_group(nginx)
        stop_group(server)
