"""A fake read-only registry that serves content which does not match its digests.

Why: a real registry refuses to store mismatching content, so the only way to
check that the client under test verifies digests and sizes on download is a
server that lies.  ``HostileRegistry`` serves one image (or an index and its
images) faithfully except for one target, corrupted in one of three ways:

* ``"bytes"``   — same length, one byte flipped (only the digest check catches it)
* ``"longer"``  — extra trailing bytes (descriptor size is wrong)
* ``"shorter"`` — last byte missing (descriptor size is wrong)

``Content-Length`` always matches what is actually sent and
``Docker-Content-Digest`` always claims the *expected* digest, so the lie is
only visible by hashing/counting.  Test-only code.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Literal

from tests.support.blobs import BlobSpec
from tests.support.images import ImageSpec, IndexSpec
from tests.support.net import BackgroundServer

Corruption = Literal["bytes", "longer", "shorter"]
_ROUTE = re.compile(r"^/v2/(?P<repo>.+)/(?P<kind>manifests|blobs)/(?P<ref>[^/]+)$")


def _corrupt(chunks: Iterator[bytes], size: int, how: Corruption) -> Iterator[bytes]:
    """Apply ``how`` to a chunk stream without buffering it."""
    flip_at, offset = size // 2, 0
    for chunk in chunks:
        if how == "shorter" and offset + len(chunk) >= size:
            chunk = chunk[: max(0, size - 1 - offset)]
        if how == "bytes" and offset <= flip_at < offset + len(chunk):
            i = flip_at - offset
            chunk = chunk[:i] + bytes([chunk[i] ^ 0xFF]) + chunk[i + 1 :]
        offset += len(chunk)
        yield chunk
    if how == "longer":
        yield b"\x00TRAILING-GARBAGE"


class HostileRegistry(BackgroundServer):
    """Serves ``/v2/``, manifests and blobs (GET/HEAD) for ``repository``; no auth, plain HTTP.

    ``corrupt_digest`` picks the lying object (a blob or manifest digest; by
    default the first layer of the first image).  Requests are recorded in
    ``requests`` as ``(method, path)``.
    """

    thread_name = "hostile-registry"

    def __init__(
        self,
        root: ImageSpec | IndexSpec,
        *,
        repository: str = "hostile/app",
        tag: str = "latest",
        corrupt: Corruption = "bytes",
        corrupt_digest: str | None = None,
    ) -> None:
        self.repository, self.tag, self.corrupt = repository, tag, corrupt
        images = root.images if isinstance(root, IndexSpec) else (root,)
        self.root = root
        self.manifests: dict[str, ImageSpec | IndexSpec] = {root.digest: root}
        self.blobs: dict[str, BlobSpec] = {}
        for image in images:
            self.manifests[image.digest] = image
            self.blobs.update({b.digest: b for b in image.blobs})
        if isinstance(root, IndexSpec):
            self._add_nested(root)
        self.corrupt_digest = corrupt_digest or images[0].layers[0].digest
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self.port: int = self._httpd.server_address[1]

    def _add_nested(self, index: IndexSpec) -> None:
        for child in index.children:
            self.manifests[child.digest] = child
            if isinstance(child, IndexSpec):
                self._add_nested(child)

    # endpoint-like attributes so helpers and the client under test can target it
    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None
    tls = False

    def _content(self, digest: str, chunks: Iterator[bytes], size: int) -> tuple[int, Iterator[bytes]]:
        if digest != self.corrupt_digest:
            return size, chunks
        delta = {"bytes": 0, "longer": len(b"\x00TRAILING-GARBAGE"), "shorter": -1}[self.corrupt]
        return size + delta, _corrupt(chunks, size, self.corrupt)

    def _serve(self, handler: BaseHTTPRequestHandler, head_only: bool) -> None:
        path = handler.path.split("?", 1)[0]
        with self._lock:
            self.requests.append((handler.command, path))
        match = _ROUTE.match(path)
        headers = {"Docker-Distribution-API-Version": "registry/2.0"}
        if path == "/v2/":
            return self._reply(handler, 200, headers | {"Content-Type": "application/json"}, b"{}", head_only)
        if match is None or match["repo"] != self.repository:
            return self._not_found(handler, head_only)
        ref = match["ref"]
        if match["kind"] == "manifests":
            spec = self.root if ref == self.tag else self.manifests.get(ref)
            if spec is None:
                return self._not_found(handler, head_only)
            size, body = self._content(spec.digest, iter([spec.manifest_bytes]), len(spec.manifest_bytes))
            headers |= {"Content-Type": spec.media_type, "Docker-Content-Digest": spec.digest}
        else:
            blob = self.blobs.get(ref)
            if blob is None:
                return self._not_found(handler, head_only)
            size, body = self._content(blob.digest, blob.iter_chunks(), blob.size)
            headers |= {"Content-Type": "application/octet-stream", "Docker-Content-Digest": blob.digest}
        handler.send_response(200)
        for key, value in (headers | {"Content-Length": str(size)}).items():
            handler.send_header(key, value)
        handler.end_headers()
        if not head_only:
            for chunk in body:
                handler.wfile.write(chunk)

    def _not_found(self, handler: BaseHTTPRequestHandler, head_only: bool) -> None:
        body = json.dumps({"errors": [{"code": "NOT_FOUND", "message": "unknown"}]}).encode()
        self._reply(handler, 404, {"Content-Type": "application/json"}, body, head_only)

    @staticmethod
    def _reply(
        handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes, head_only: bool
    ) -> None:
        handler.send_response(status)
        for key, value in (headers | {"Content-Length": str(len(body))}).items():
            handler.send_header(key, value)
        handler.end_headers()
        if not head_only:
            handler.wfile.write(body)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        registry = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive like a real registry

            def do_GET(self) -> None:
                registry._serve(self, head_only=False)

            def do_HEAD(self) -> None:
                registry._serve(self, head_only=True)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler
