"""A private, throwaway PostgreSQL server for the service's tests and benchmarks.

    python tools/pg_local.py            # start one, print its URL, stop and remove it on Ctrl-C

`initdb` into a new temporary folder, `pg_ctl start` listening only on a unix socket in that folder (no TCP
port, so nothing else on the machine can reach it and no port can clash), and at the end `pg_ctl stop` and
the folder removed. PostgreSQL refuses to run as root: as root, the server runs as the `postgres` user
(made by Debian's `postgresql` package) or else `nobody`.

The server binaries are looked up in $UNMASK_PG_BINDIR, then on PATH, then with `pg_config --bindir`, then
in Debian's layout (`postgresql` installs them under /usr/lib/postgresql/<version>/bin, off PATH).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

DEBIAN_BINDIRS = "/usr/lib/postgresql/*/bin"  # where Debian's postgresql package puts initdb and pg_ctl
SERVER_USERS = ("postgres", "nobody")  # who runs the server when we are root, first found
SUPERUSER = "unmask"  # the database superuser initdb creates (trust authentication over the private socket)
PORT = 5432  # only names the socket file: the server listens on no TCP port


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries here (or no user to run them as); the message says what to install."""


def find_bindir() -> Path | None:
    """The folder holding `initdb` and `pg_ctl`, or None."""
    candidates = [os.environ.get("UNMASK_PG_BINDIR")]
    on_path = shutil.which("initdb")
    candidates.append(str(Path(on_path).resolve().parent) if on_path else None)
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, timeout=10)
        candidates.append(out.stdout.strip() if out.returncode == 0 else None)
    by_version = sorted(glob.glob(DEBIAN_BINDIRS), key=lambda p: _version_key(Path(p).parent.name), reverse=True)
    for folder in [*candidates, *by_version]:
        if folder and (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    return None


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(p) for p in name.split(".") if p.isdigit())


def _server_user() -> pwd.struct_passwd | None:
    """The account to run the server as: None when we are not root (run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in SERVER_USERS:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise PostgresUnavailable("running as root and neither a 'postgres' nor a 'nobody' user exists "
                              "(PostgreSQL refuses to run as root): create one, e.g. useradd postgres")


class LocalPostgres:
    """One private server; use as a context manager, or `start()` and `stop()`.

    `fast=True` turns off fsync (a test server whose data nobody keeps); benchmarks pass False.
    """

    def __init__(self, fast: bool = True, max_connections: int = 200) -> None:
        bindir = find_bindir()
        if bindir is None:
            raise PostgresUnavailable("PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's "
                                      "'postgresql' package (apt-get install postgresql) or set UNMASK_PG_BINDIR")
        self.bindir, self.fast, self.max_connections = bindir, fast, max_connections
        self.user = _server_user()
        self.root: Path | None = None

    @property
    def socket_dir(self) -> Path:
        if self.root is None:
            raise RuntimeError("the server is not started")
        return self.root

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """Run a server binary as the server's user; raises with its output when it fails."""
        ids = {} if self.user is None else {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        proc = subprocess.run([str(self.bindir / args[0]), *args[1:]], capture_output=True, text=True,
                              timeout=timeout, cwd=self.socket_dir, **ids)
        if proc.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({proc.returncode}): {proc.stdout}{proc.stderr}")
        return proc

    def start(self) -> LocalPostgres:
        """initdb and start; returns self once the server accepts connections."""
        self.root = Path(tempfile.mkdtemp(prefix="unmask-pg-"))
        if self.user is not None:
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
        try:
            self._run("initdb", "-D", str(self.root / "data"), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
                      "--no-locale", "--no-sync")
            options = [f"-k {self.root}", "-c listen_addresses=''", f"-p {PORT}",
                       f"-c max_connections={self.max_connections}"]
            if self.fast:
                options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
            self._run("pg_ctl", "-D", str(self.root / "data"), "-l", str(self.root / "server.log"), "-w",
                      "-t", "60", "-o", " ".join(options), "start")
        except BaseException:
            self.stop()
            raise
        return self

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of a database on this server (psycopg 3, over the unix socket)."""
        return f"postgresql+psycopg://{SUPERUSER}@/{database}?host={self.socket_dir}&port={PORT}"

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        if not name.isidentifier():
            raise ValueError(f"database name {name!r}: letters, digits and '_' only")
        with psycopg.connect(host=str(self.socket_dir), port=PORT, user=SUPERUSER, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def log(self) -> str:
        """The server's log so far (for failure messages)."""
        path = self.socket_dir / "server.log"
        return path.read_text(errors="replace") if path.is_file() else ""

    def stop(self) -> None:
        """Stop the server at once (nothing here is worth a clean shutdown) and remove its folder."""
        if self.root is None:
            return
        if (self.root / "data" / "postmaster.pid").is_file():
            with contextlib.suppress(RuntimeError, subprocess.SubprocessError):
                self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop", timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def __enter__(self) -> LocalPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def local_postgres(fast: bool = True) -> Iterator[LocalPostgres]:
    """`with local_postgres() as pg: pg.url()`."""
    server = LocalPostgres(fast=fast)
    with server:
        yield server


def main() -> int:
    try:
        server = LocalPostgres(fast=False).start()
    except PostgresUnavailable as exc:
        print(exc, file=sys.stderr)
        return 2
    print(server.url("postgres"), flush=True)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop and clean up on SIGTERM too
    try:
        while True:
            signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
