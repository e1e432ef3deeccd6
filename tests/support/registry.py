"""Start real CNCF distribution (``docker-registry``) processes for tests.

Why: the product's registry client must be tested against the real protocol
implementation, not against our own reading of the spec.  Each server gets its
own port, storage directory, config file and log file (``registry.log`` in the
workdir — read it when a test fails), and is killed at teardown.

Test-only code: never import it from ``ferry``.
"""

from __future__ import annotations

import atexit
import secrets
import shutil
import ssl
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Literal

import trustme

from tests.support.net import free_port, wait_until
from tests.support.tokenserver import TokenServer

AuthMode = Literal["none", "htpasswd", "token"]
REGISTRY_BINARY = "docker-registry"

# Safety net: registries still running when the interpreter exits (a fixture that
# never reached teardown, Ctrl-C) are killed so they do not outlive the test run.
_LIVE: set[subprocess.Popen[bytes]] = set()


@atexit.register
def _kill_leftovers() -> None:
    for proc in list(_LIVE):
        if proc.poll() is None:
            proc.kill()


@dataclass
class RegistryServer:
    """A running registry.  ``host`` is what goes into image references (``127.0.0.1:PORT``)."""

    host: str
    url: str
    workdir: Path
    auth: AuthMode
    tls: bool
    username: str | None
    password: str | None
    ca_file: Path | None
    log_file: Path
    token_server: TokenServer | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def port(self) -> int:
        return int(self.host.rsplit(":", 1)[1])

    @property
    def storage_dir(self) -> Path:
        return self.workdir / "storage"

    def log_text(self) -> str:
        """The registry's stderr so far (for assertion messages)."""
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def stop(self) -> None:
        """Terminate the process (SIGTERM, then SIGKILL after a grace period). Idempotent."""
        proc, self.process = self.process, None
        if proc is None:
            return
        _LIVE.discard(proc)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    def __enter__(self) -> RegistryServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


_CA: trustme.CA | None = None


def shared_ca() -> trustme.CA:
    """One process-wide CA: generating keys is the slow part of TLS setup."""
    global _CA
    if _CA is None:
        _CA = trustme.CA()
    return _CA


def _htpasswd_line(user: str, password: str) -> str:
    """A bcrypt htpasswd entry; distribution only accepts bcrypt."""
    if shutil.which("htpasswd"):
        out = subprocess.run(
            ["htpasswd", "-Bbn", user, password], check=True, capture_output=True, text=True
        ).stdout
        return out.strip()
    import bcrypt  # type: ignore[import-not-found]  # only if the htpasswd tool is missing

    hashed: bytes = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5))
    return f"{user}:{hashed.decode()}"


def _config_yaml(
    *,
    port: int,
    storage: Path,
    auth_lines: list[str],
    tls_lines: list[str],
    notifications_url: str | None,
    schema1: bool,
) -> str:
    # Hand-written YAML: the structure is fixed and this avoids a PyYAML dependency.
    lines = [
        "version: 0.1",
        "log:",
        "  level: warn",
        "  accesslog:",
        "    disabled: true",
        "storage:",
        "  filesystem:",
        f"    rootdirectory: {storage}",
        "  delete:",
        "    enabled: true",
        "  maintenance:",
        "    uploadpurging:",
        "      enabled: false",
        "http:",
        f"  addr: 127.0.0.1:{port}",
        f"  secret: {secrets.token_hex(16)}",
        *tls_lines,
        *auth_lines,
    ]
    if schema1:
        lines += ["compatibility:", "  schema1:", "    enabled: true"]
    if notifications_url is not None:
        lines += [
            "notifications:",
            "  endpoints:",
            "    - name: ferry-tests",
            f"      url: {notifications_url}",
            "      timeout: 2s",
            "      threshold: 3",
            "      backoff: 1s",
        ]
    return "\n".join(lines) + "\n"


def _probe_v2(url: str, ctx: ssl.SSLContext | None) -> bool | None:
    """True once ``GET /v2/`` answers 200 or 401 (auth-protected registries answer 401)."""
    try:
        with urllib.request.urlopen(f"{url}/v2/", timeout=2, context=ctx) as resp:
            return True if resp.status == 200 else None
    except urllib.error.HTTPError as err:
        with err:  # the error carries an open response
            return True if err.code == 401 else None
    except OSError:
        return None


def start_registry(
    workdir: Path,
    *,
    auth: AuthMode = "none",
    tls: bool = False,
    token_server: TokenServer | None = None,
    notifications_url: str | None = None,
    schema1: bool = False,
    startup_timeout: float = 20.0,
) -> RegistryServer:
    """Start ``docker-registry serve`` and wait until ``/v2/`` answers.

    ``auth="token"`` requires a started ``token_server``; the registry is then
    configured with its realm, service, issuer and root certificate, and the
    returned server carries the token server's first user as credentials.
    ``schema1=True`` sets ``compatibility.schema1.enabled`` (2.8 refuses
    schema 1 pushes otherwise).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    storage = workdir / "storage"
    storage.mkdir(exist_ok=True)
    username: str | None = None
    password: str | None = None
    auth_lines: list[str] = []
    if auth == "htpasswd":
        username, password = f"user-{secrets.token_hex(3)}", secrets.token_urlsafe(12)
        htpasswd = workdir / "htpasswd"
        htpasswd.write_text(_htpasswd_line(username, password) + "\n")
        auth_lines = ["auth:", "  htpasswd:", "    realm: ferry-test-realm", f"    path: {htpasswd}"]
    elif auth == "token":
        if token_server is None:
            raise ValueError("auth='token' needs a token_server")
        username, password = token_server.username, token_server.password
        auth_lines = [
            "auth:",
            "  token:",
            f"    realm: {token_server.realm}",
            f"    service: {token_server.service}",
            f"    issuer: {token_server.issuer}",
            f"    rootcertbundle: {token_server.rootcertbundle}",
        ]
    tls_lines: list[str] = []
    ca_file: Path | None = None
    ctx: ssl.SSLContext | None = None
    if tls:
        ca = shared_ca()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        cert_file, key_file, ca_file = workdir / "server.crt", workdir / "server.key", workdir / "ca.pem"
        cert.cert_chain_pems[0].write_to_path(str(cert_file))
        cert.private_key_pem.write_to_path(str(key_file))
        ca.cert_pem.write_to_path(str(ca_file))
        tls_lines = ["  tls:", f"    certificate: {cert_file}", f"    key: {key_file}"]
        ctx = ssl.create_default_context(cafile=str(ca_file))

    log_file = workdir / "registry.log"
    for _attempt in range(5):  # retry only for the free-port race
        port = free_port()
        config = workdir / "config.yml"
        config.write_text(
            _config_yaml(
                port=port,
                storage=storage,
                auth_lines=auth_lines,
                tls_lines=tls_lines,
                notifications_url=notifications_url,
                schema1=schema1,
            )
        )
        scheme = "https" if tls else "http"
        server = RegistryServer(
            host=f"127.0.0.1:{port}",
            url=f"{scheme}://127.0.0.1:{port}",
            workdir=workdir,
            auth=auth,
            tls=tls,
            username=username,
            password=password,
            ca_file=ca_file,
            log_file=log_file,
            token_server=token_server,
        )
        with log_file.open("ab") as log:
            server.process = subprocess.Popen(
                [REGISTRY_BINARY, "serve", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=workdir,
            )
        proc = server.process
        _LIVE.add(proc)

        def ready(proc: subprocess.Popen[bytes] = proc, url: str = server.url) -> bool | None:
            if proc.poll() is not None:
                return False  # exited: stop polling, decide below
            return _probe_v2(url, ctx)

        try:
            ok = wait_until(ready, timeout=startup_timeout, what=f"docker-registry on {server.url}")
        except TimeoutError:
            server.stop()
            raise
        if ok:
            return server
        server.stop()
        if "address already in use" not in server.log_text():
            raise RuntimeError(f"docker-registry exited during startup:\n{server.log_text()}")
    raise RuntimeError(f"could not bind docker-registry to a free port:\n{server.log_text()}")
