"""What the tests, the soak run (soak/) and the benchmarks (bench/) need around the code
under test: free ports, throwaway databases, servers in their own process groups, waiting
for a URL, and `require` for services that may be missing locally but never in CI.

It lives in tests/ because pytest already puts that folder on sys.path (pyproject's
`pythonpath`), so `from support import ...` works in every test package without an install,
exactly as it did when this was one module, tests/support.py;
soak/ and bench/ append the same folder to sys.path in their `__init__`, which covers
`make soak`, `make bench` and `python -m soak.run` typed by hand. It is not under src/:
nothing here is shipped. Everything heavy (pytest, psycopg, aiosmtpd) is imported where it is
used, so the soak and bench harnesses load only what they call.
"""

from support.databases import (
    POSTGRES_ADMIN_URL,
    postgres_available,
    require_postgres,
    sqlalchemy_url,
    temporary_postgres_database,
    temporary_sqlite_database,
    wait_for_postgres,
)
from support.environment import (
    CHROMIUM,
    IN_CI,
    REDIS_URL,
    chromium_available,
    require,
    require_redis,
)
from support.mail import smtp_server
from support.nginx import Nginx, start_nginx
from support.processes import (
    ServerFailed,
    free_port,
    start_server,
    stop_group,
    wait_until_up,
)
from support.sshd import SSHServer, keygen, require_sshd, start_sshd

__all__ = [
    "CHROMIUM",
    "IN_CI",
    "POSTGRES_ADMIN_URL",
    "REDIS_URL",
    "Nginx",
    "SSHServer",
    "ServerFailed",
    "chromium_available",
    "free_port",
    "keygen",
    "postgres_available",
    "require",
    "require_postgres",
    "require_redis",
    "require_sshd",
    "smtp_server",
    "sqlalchemy_url",
    "start_nginx",
    "start_server",
    "start_sshd",
    "stop_group",
    "temporary_postgres_database",
    "temporary_sqlite_database",
    "wait_for_postgres",
    "wait_until_up",
]
