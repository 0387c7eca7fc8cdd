"""A private nginx (Debian's binary, our own prefix and config) in front of app servers: the
proxy settings of deploy/nginx-bookshelf.conf with shorter timeouts for bounded tests. Used by
the soak run's scale-out phase and the fleet deploy test."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from support.processes import free_port, start_server, stop_group

# A loopback port, or "address:port" (the fleet test's hosts listen on 127.0.0.2, ...).
Upstream = int | str

NGINX_TEMPLATE = """{user}
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    # The same limits as deploy/nginx-bookshelf.conf, shorter timeouts for a bounded test.
    client_max_body_size 1m;
    client_header_timeout 3s;
    client_body_timeout 3s;
    send_timeout 10s;
{cache_zone}
    upstream bookshelf {{
{servers}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://bookshelf;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_connect_timeout 2s;
            proxy_read_timeout 30s;
            proxy_next_upstream error timeout http_502 http_503;
            proxy_next_upstream_tries 2;
            add_header X-Upstream $upstream_addr always;
{cache}
        }}
    }}
}}
"""
# The shared cache README.md ("HTTP caching") suggests, with its verdict in X-Cache.
CACHE_ZONE = "    proxy_cache_path {prefix}/cache keys_zone=bookshelf:1m;"
CACHE = """
            proxy_cache bookshelf;
            proxy_cache_revalidate on;
            proxy_cache_lock on;
            proxy_cache_bypass $http_cookie $http_authorization;
            proxy_no_cache     $http_cookie $http_authorization;
            add_header X-Cache $upstream_cache_status always;"""


@dataclass
class Nginx:
    port: int
    prefix: Path
    process: subprocess.Popen[bytes] | None = None
    upstreams: list[Upstream] = field(default_factory=list)
    cache: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_upstreams(self, ports: list[Upstream]) -> None:
        """Rewrite the upstream list and reload (HUP): new requests go only to `ports`."""
        conf = self.prefix / "nginx.conf"
        conf.write_text(render_conf(self.prefix, self.port, ports, self.cache))
        assert self.process is not None
        self.process.send_signal(signal.SIGHUP)
        self.upstreams = ports
        time.sleep(1.0)  # old nginx workers finish their requests; new ones use the new list

    def upstream_errors(self) -> list[str]:
        """What nginx logged about app servers failing it (refused, reset, timed out). Its
        retry on another upstream hides such a failure from the client, not from this log."""
        log = self.prefix / "error.log"
        lines = log.read_text(errors="replace").splitlines() if log.exists() else []
        return [line for line in lines if "upstream" in line]

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process, signal.SIGQUIT)  # graceful: finish in-flight requests


def render_conf(
    prefix: Path, port: int, upstream_ports: list[Upstream], cache: bool = False
) -> str:
    servers = "\n".join(
        f"        server {_address(p)} max_fails=1 fail_timeout=2s;" for p in upstream_ports
    )
    return NGINX_TEMPLATE.format(
        prefix=prefix,
        port=port,
        servers=servers,
        # Started as root, nginx's workers run as `nobody`, who cannot write the cache into
        # this private folder.
        user="user root;" if cache and os.geteuid() == 0 else "",
        cache_zone=CACHE_ZONE.format(prefix=prefix) if cache else "",
        cache=CACHE if cache else "",
    )


def _address(upstream: Upstream) -> str:
    return f"127.0.0.1:{upstream}" if isinstance(upstream, int) else upstream


def start_nginx(
    upstream_ports: list[Upstream], workdir: Path, ready: str = "/healthz", cache: bool = False
) -> Nginx:
    """nginx in front of `upstream_ports` (a loopback port, or "address:port"), answering on
    a port of its own once `ready` answers through it; with `cache`, README's shared cache."""
    prefix = Path(tempfile.mkdtemp(prefix="nginx-", dir=workdir))
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi", "cache"):
        (prefix / sub).mkdir()
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(render_conf(prefix, port, upstream_ports, cache))
    # -g 'daemon off;': nginx stays our child, so it is stopped with us, never left behind.
    # The Debian package's nginx, found on PATH, with our own prefix and config.
    command = ["nginx", "-p", prefix, "-c", conf, "-g", "daemon off;"]
    url = f"http://127.0.0.1:{port}{ready}"
    process = start_server(command, prefix / "stderr.log", ready=url)
    return Nginx(port, prefix, process, upstream_ports, cache)
