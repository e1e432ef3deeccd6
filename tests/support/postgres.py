"""Start a real, throw-away PostgreSQL cluster for tests.

Why: the product's store must be tested against the database it will run on,
not only SQLite.  ``start_postgres`` runs ``initdb`` and then the ``postgres``
server in the foreground (no Docker, no system service), listening on
127.0.0.1 at a free port with trust authentication.  Starting a cluster takes
about a second (``initdb`` is nearly all of it), so one cluster serves a whole
test session and every test gets its own database (``create_database``,
~10-20 ms).  Durability is off (``fsync``, ``synchronous_commit``,
``full_page_writes``): the cluster is deleted at ``stop`` anyway.

Where things live:

* ``directory`` (the caller's) holds ``postgres.log``: ``initdb`` output, then
  the server log.  It outlives ``stop``.
* The cluster (data directory and unix socket) lives in a private
  ``ferry-pg-*`` directory in ``/dev/shm`` when that has room (RAM: the slow
  part on a busy disk is writing pages back), else in the system temp dir.  Not
  in ``directory``: pytest's temp dirs are ``0700 root``, which the server's OS
  user cannot enter, and unix socket paths must stay under ~100 bytes.

PostgreSQL refuses to run as root.  As root, ``initdb`` and ``postgres`` run as
the ``postgres`` OS user that the Debian package creates.  Both are started via
``setpriv``, which execs (the process we hold *is* the postmaster) and sets a
parent-death signal: the server gets ``SIGQUIT`` (immediate shutdown) when the
thread that started it dies, so a test run killed with ``SIGKILL`` does not leave
it running.  Start it from a long-lived thread (pytest fixtures run in the main
thread).  Cluster directories such a run leaves behind are deleted by the next
``start_postgres``.

Test-only code: never import it from ``ferry``.
"""

from __future__ import annotations

import atexit
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from itertools import count
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from tests.support.net import free_port, wait_until

if TYPE_CHECKING:
    import psycopg

SUPERUSER = "ferry"
"""The cluster's bootstrap superuser; trust auth, so no password."""
SERVER_OS_USER = "postgres"
"""The OS user that runs PostgreSQL when the tests run as root (created by the Debian package)."""
MAINTENANCE_DB = "postgres"
SEARCH_ROOTS = (Path("/usr/lib/postgresql"),)
"""Debian/Ubuntu layout: ``/usr/lib/postgresql/<major>/bin``; the highest major wins."""
INSTALL_HINT = "run `bash scripts/bootstrap.sh` (it installs the Debian package `postgresql`)"

_SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "log_checkpoints": "off",  # CREATE/DROP DATABASE checkpoint each time: noise in a failing test's log
}
_CLUSTER_PREFIX = "ferry-pg-"
_SHM = Path("/dev/shm")
_SHM_MIN_FREE = 1 << 30  # a cluster is ~40 MB plus ~8 MB per live database; Docker's default shm is 64 MB
_STALE_AFTER = 600.0  # seconds a cluster directory may exist without a postmaster (initdb runs ~1 s)

# Safety net: clusters still running when the interpreter exits (a fixture that never
# reached teardown, Ctrl-C) are stopped and deleted so they do not outlive the test run.
_LIVE: set[PostgresServer] = set()


@atexit.register
def _stop_leftovers() -> None:
    for server in list(_LIVE):
        server.stop()


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot be started on this machine; the message says how to fix that."""


def find_bindir(roots: Iterable[Path] | None = None, path: str | None = None) -> Path:
    """The directory holding ``initdb`` and ``postgres``: the newest under ``roots``, else via ``path``.

    ``roots`` defaults to ``SEARCH_ROOTS``, ``path`` to ``$PATH``.

    Raises ``PostgresUnavailable`` (pointing at ``scripts/bootstrap.sh``) when there is none.
    """

    def complete(bindir: Path) -> bool:
        return all(os.access(bindir / tool, os.X_OK) for tool in ("initdb", "postgres"))

    def version_key(bindir: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", bindir.parent.name))

    roots = list(SEARCH_ROOTS if roots is None else roots)
    candidates = [bindir for root in roots for bindir in root.glob("*/bin") if complete(bindir)]
    if candidates:
        return max(candidates, key=version_key)
    initdb = shutil.which("initdb", path=path)
    if initdb is not None:
        bindir = Path(initdb).resolve().parent  # PATH may hold symlinks; postgres sits next to the target
        if complete(bindir):
            return bindir
    searched = "".join(f"{root}/*/bin, " for root in roots)
    raise PostgresUnavailable(
        f"PostgreSQL server binaries (initdb, postgres) not found (searched {searched}PATH); {INSTALL_HINT}"
    )


def _credentials() -> list[str]:
    """``setpriv`` options that drop root for PostgreSQL, or none when not root."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(SERVER_OS_USER)
    except KeyError:
        raise PostgresUnavailable(
            f"running as root, but there is no {SERVER_OS_USER!r} OS user to run PostgreSQL as "
            f"(it refuses to run as root); {INSTALL_HINT}"
        ) from None
    return [f"--reuid={SERVER_OS_USER}", f"--regid={SERVER_OS_USER}", "--init-groups"]


def _cluster_root() -> Path:
    """``/dev/shm`` when it is writable and has room, else the system temp dir."""
    try:
        stat = os.statvfs(_SHM)
    except OSError:
        return Path(tempfile.gettempdir())
    if stat.f_bavail * stat.f_frsize >= _SHM_MIN_FREE and os.access(_SHM, os.W_OK | os.X_OK):
        return _SHM
    return Path(tempfile.gettempdir())


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep_stale_clusters(root: Path) -> None:
    """Delete cluster directories left by killed runs.

    A postmaster removes ``postmaster.pid`` when it exits (even on ``SIGQUIT``) and leaves
    ``postmaster.opts``; a cluster whose ``initdb`` was killed has neither.
    """
    for cluster_dir in root.glob(f"{_CLUSTER_PREFIX}*"):
        data_dir = cluster_dir / "data"
        try:
            if (data_dir / "postmaster.pid").exists():
                pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
                stale = not _pid_alive(pid)
            elif (data_dir / "postmaster.opts").exists():
                stale = True
            else:
                stale = time.time() - cluster_dir.stat().st_mtime > _STALE_AFTER
        except (OSError, ValueError):  # another user's, or vanishing under us: not ours to judge
            continue
        if stale:
            shutil.rmtree(cluster_dir, ignore_errors=True)


_names = count(1)


def database_name(label: str) -> str:
    """A unique, valid database name that still says where it came from (e.g. a test's name)."""
    slug = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
    return f"t{next(_names)}_{slug}"[:63]


@dataclass(eq=False)
class PostgresServer:
    """A running cluster.  ``url`` and ``dsn`` point at its maintenance database ``postgres``."""

    host: str
    port: int
    user: str
    version: int
    cluster_dir: Path
    log_file: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _admin: psycopg.Connection[tuple[object, ...]] | None = field(default=None, repr=False)
    _admin_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.cluster_dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.cluster_dir

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the maintenance database."""
        return self.url_for(MAINTENANCE_DB)

    @property
    def dsn(self) -> str:
        """libpq connection string of the maintenance database."""
        return self.dsn_for(MAINTENANCE_DB)

    def url_for(self, dbname: str) -> str:
        """SQLAlchemy URL (``postgresql+psycopg://…``) of database ``dbname``."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{dbname}"

    def dsn_for(self, dbname: str) -> str:
        """libpq connection string (for ``psycopg.connect``) of database ``dbname``."""
        return f"host={self.host} port={self.port} user={self.user} dbname={dbname}"

    def connect(self, dbname: str = MAINTENANCE_DB) -> psycopg.Connection[tuple[object, ...]]:
        """A new psycopg connection (autocommit) to ``dbname``, as the superuser."""
        import psycopg  # here, not at the top: conftest imports this module for every test

        return psycopg.connect(self.dsn_for(dbname), autocommit=True, connect_timeout=5)

    def _admin_execute(self, statement: psycopg.sql.Composed) -> None:
        # One kept connection: opening one costs about as much as CREATE DATABASE itself.
        with self._admin_lock:
            if self._admin is None or self._admin.closed:
                self._admin = self.connect()
            self._admin.execute(statement)

    def create_database(self, name: str) -> str:
        """Create an empty database ``name`` (a copy of ``template0``) and return its SQLAlchemy URL."""
        from psycopg import sql

        if not name or len(name.encode()) > 63:
            raise ValueError(f"PostgreSQL database names have 1 to 63 bytes: {name!r}")
        # FILE_COPY (15+; older versions only copy files) writes almost no WAL and is the faster one here.
        strategy = sql.SQL(" STRATEGY FILE_COPY" if self.version >= 15 else "")
        statement = sql.SQL("CREATE DATABASE {} TEMPLATE template0{}").format(sql.Identifier(name), strategy)
        self._admin_execute(statement)
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name``, closing connections still open to it.  Missing is fine."""
        from psycopg import sql

        self._admin_execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def log_size(self) -> int:
        """The log's current size in bytes: pass it to ``log_text`` to get only what came after."""
        return self.log_file.stat().st_size if self.log_file.exists() else 0

    def log_text(self, since: int = 0) -> str:
        """``initdb`` output and the server log, from byte offset ``since``."""
        if not self.log_file.exists():
            return ""
        with self.log_file.open("rb") as log:
            log.seek(since)
            return log.read().decode(errors="replace")

    def stop(self) -> None:
        """Immediate shutdown (``SIGQUIT``, as ``pg_ctl stop -m immediate``), then delete the cluster.

        Idempotent.  The log in ``log_file`` stays.
        """
        _LIVE.discard(self)
        with self._admin_lock:
            admin, self._admin = self._admin, None
        if admin is not None:
            admin.close()
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGQUIT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        shutil.rmtree(self.cluster_dir, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _ready(server: PostgresServer) -> bool | None:
    """True once the server accepts connections; False if it exited (decided by the caller)."""
    import psycopg

    if server.process is None or server.process.poll() is not None:
        return False
    try:
        server.connect().close()
    except psycopg.OperationalError:  # refused, or "the database system is starting up"
        return None
    return True


def start_postgres(directory: Path, *, startup_timeout: float = 30.0) -> PostgresServer:
    """``initdb`` a new cluster, start it on a free 127.0.0.1 port and wait until it accepts connections.

    Raises ``PostgresUnavailable`` when the binaries (or, as root, the ``postgres``
    OS user) are missing, and ``RuntimeError`` with the log when it fails to start.
    """
    bindir = find_bindir()
    credentials = _credentials()
    directory.mkdir(parents=True, exist_ok=True)
    log_file = directory / "postgres.log"
    root = _cluster_root()
    _sweep_stale_clusters(root)
    cluster_dir = Path(tempfile.mkdtemp(prefix=_CLUSTER_PREFIX, dir=root))
    data_dir = cluster_dir / "data"
    try:
        if credentials:
            server_user = pwd.getpwnam(SERVER_OS_USER)
            os.chown(cluster_dir, server_user.pw_uid, server_user.pw_gid)
        initdb = ["setpriv", *credentials, "--", str(bindir / "initdb"), f"--pgdata={data_dir}"]
        initdb += [f"--username={SUPERUSER}", "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"]
        initdb += ["--no-sync"]
        with log_file.open("ab") as log:
            done = subprocess.run(
                initdb, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=cluster_dir
            )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed ({done.returncode}):\n{log_file.read_text(errors='replace')}")
        version = int((data_dir / "PG_VERSION").read_text().strip().split(".")[0])
    except BaseException:
        shutil.rmtree(cluster_dir, ignore_errors=True)
        raise

    for _attempt in range(5):  # retry only for the free-port race
        server = PostgresServer(
            host="127.0.0.1",
            port=free_port(),
            user=SUPERUSER,
            version=version,
            cluster_dir=cluster_dir,
            log_file=log_file,
        )
        settings = {**_SERVER_SETTINGS, "port": str(server.port), "unix_socket_directories": str(cluster_dir)}
        # setpriv sets the parent-death signal after dropping root (a uid change clears it)
        command = ["setpriv", *credentials, "--pdeathsig=QUIT", "--", str(bindir / "postgres")]
        command += ["-D", str(data_dir)]
        command += [arg for name, value in settings.items() for arg in ("-c", f"{name}={value}")]
        offset = server.log_size()
        with log_file.open("ab") as log:
            server.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=cluster_dir
            )
        _LIVE.add(server)
        try:
            what = f"PostgreSQL on {server.host}:{server.port}"
            ok = wait_until(partial(_ready, server), timeout=startup_timeout, what=what)
        except BaseException:
            server.stop()
            raise
        if ok:
            return server
        # exited: forget the dead process but keep the cluster for the next attempt
        _LIVE.discard(server)
        server.process = None
        if "Address already in use" not in server.log_text(offset):
            shutil.rmtree(cluster_dir, ignore_errors=True)
            raise RuntimeError(f"PostgreSQL exited during startup:\n{server.log_text()}")
    shutil.rmtree(cluster_dir, ignore_errors=True)
    raise RuntimeError(f"could not bind PostgreSQL to a free port:\n{log_file.read_text(errors='replace')}")
