"""Docker image manifest schema 1 (signed, ``application/vnd.docker.distribution.manifest.v1+prettyjws``).

Why: old registries still hold schema 1 images and a replicator must at least
recognise them.  distribution 2.8 only stores them when started with
``start_registry(..., schema1=True)`` and only with a valid libtrust JWS
signature, which this module produces (ES256, key embedded as a JWK).

Note the digest: a registry identifies a signed schema 1 manifest by the sha256
of its *payload without signatures*, not of the bytes it serves — and 2.8
re-signs the payload with its own key on every GET, so served bytes differ per
request.  Use :func:`payload_digest` to compare.  Test-only code.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from tests.support.blobs import BlobSpec
from tests.support.client import Target, connect
from tests.support.images import push_blob, push_manifest

SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _libtrust_key_id(key: ec.EllipticCurvePublicKey) -> str:
    """libtrust's key id: base32 of the first 240 bits of sha256(DER SPKI), in 4-char groups."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


@dataclass(frozen=True)
class Schema1Spec:
    manifest_bytes: bytes  # what is PUT and what GET returns (pretty JWS)
    payload: bytes  # the manifest without signatures (what the registry digests)
    layers: tuple[BlobSpec, ...]
    media_type: str = SCHEMA1_SIGNED

    @property
    def digest(self) -> str:
        """The registry's digest (of the payload)."""
        return "sha256:" + hashlib.sha256(self.payload).hexdigest()

    @property
    def raw_digest(self) -> str:
        """sha256 of the bytes as pushed (a registry will serve differently signed bytes)."""
        return "sha256:" + hashlib.sha256(self.manifest_bytes).hexdigest()


def build_schema1(
    repository: str, tag: str, layers: Sequence[BlobSpec], *, architecture: str = "amd64"
) -> Schema1Spec:
    """A signed schema 1 manifest; layers are listed newest first, like Docker did."""
    history = [
        {
            "v1Compatibility": json.dumps(
                {"id": hashlib.sha256(f"{tag}/{i}".encode()).hexdigest(), "os": "linux"}
            )
        }
        for i, _ in enumerate(layers)
    ]
    document = {
        "schemaVersion": 1,
        "name": repository,
        "tag": tag,
        "architecture": architecture,
        "fsLayers": [{"blobSum": layer.digest} for layer in layers],
        "history": history,
    }
    payload = json.dumps(document, indent=3).encode()
    format_length = payload.rstrip().rindex(b"}")  # up to (excluding) the final closing brace
    format_length = len(payload[:format_length].rstrip())
    protected = _b64url(
        json.dumps(
            {
                "formatLength": format_length,
                "formatTail": _b64url(payload[format_length:]),
                "time": "2024-01-01T00:00:00Z",
            }
        ).encode()
    )
    key = ec.generate_private_key(ec.SECP256R1())
    numbers = key.public_key().public_numbers()
    jwk = {
        "crv": "P-256",
        "kid": _libtrust_key_id(key.public_key()),
        "kty": "EC",
        "x": _b64url(numbers.x.to_bytes(32, "big")),
        "y": _b64url(numbers.y.to_bytes(32, "big")),
    }
    r, s = decode_dss_signature(
        key.sign(f"{protected}.{_b64url(payload)}".encode(), ec.ECDSA(hashes.SHA256()))
    )
    signatures = [
        {
            "header": {"jwk": jwk, "alg": "ES256"},
            "signature": _b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big")),
            "protected": protected,
        }
    ]
    # libtrust's PrettySignature layout: payload minus its tail, the signatures, then the tail.
    rendered = json.dumps(signatures, indent=3).replace("\n", "\n   ")
    signed = payload[:format_length] + b',\n   "signatures": ' + rendered.encode() + b"\n}"
    return Schema1Spec(manifest_bytes=signed, payload=payload, layers=tuple(layers))


def push_schema1(target: Target, repository: str, tag: str, spec: Schema1Spec) -> str:
    """Push the layers and the signed manifest; returns the registry's digest."""
    with connect(target) as client:
        for layer in spec.layers:
            push_blob(client, repository, layer)
        return push_manifest(client, repository, tag, spec.manifest_bytes, spec.media_type)


def payload_digest(signed: bytes) -> str:
    """Digest of a signed schema 1 manifest as registries compute it (signatures stripped).

    distribution 2.8 stores only the payload and re-signs it with its own key on
    *every* GET (new ``time`` and signature each time), so raw bytes of a schema 1
    manifest are not stable; compare this digest instead.
    """
    signatures = json.loads(signed)["signatures"]
    protected = json.loads(base64.urlsafe_b64decode(signatures[0]["protected"] + "=="))
    length, tail = protected["formatLength"], base64.urlsafe_b64decode(protected["formatTail"] + "==")
    return "sha256:" + hashlib.sha256(signed[:length] + tail).hexdigest()
