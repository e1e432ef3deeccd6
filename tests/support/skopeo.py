"""``skopeo`` as an independent oracle for what a registry really holds.

Why: asserting on a copy with the same code that made it proves little.
skopeo (containers/image, Go) is an unrelated implementation, so when it
reports the same raw manifest digest as the source, the copy is right.
``skopeo_copy`` is offered as a reference copier for comparisons.

Test-only code.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Protocol

from tests.support.net import Endpoint

SKOPEO = "skopeo"


class SkopeoTarget(Endpoint, Protocol):
    """An endpoint skopeo can address: it needs ``host`` for ``docker://`` references and ``tls``."""

    @property
    def host(self) -> str: ...
    @property
    def tls(self) -> bool: ...


def _cert_dir(ca_file: Path) -> Path:
    """skopeo wants a directory containing ``*.crt``; keep one next to the CA file."""
    directory = ca_file.parent / "skopeo-certs"
    directory.mkdir(exist_ok=True)
    shutil.copyfile(ca_file, directory / "ca.crt")
    return directory


def _transport_flags(target: SkopeoTarget, prefix: str = "") -> list[str]:
    """TLS and credential flags; ``prefix`` is ``src-``/``dest-`` for ``skopeo copy``."""
    flags: list[str] = []
    if target.tls and target.ca_file is not None:
        flags += [f"--{prefix}cert-dir", str(_cert_dir(target.ca_file)), f"--{prefix}tls-verify=true"]
    elif not target.tls:
        flags.append(f"--{prefix}tls-verify=false")
    if target.username is not None:
        flags += [f"--{prefix}creds", f"{target.username}:{target.password or ''}"]
    else:
        flags.append(f"--{prefix}no-creds")
    return flags


def _ref(target: SkopeoTarget, repository: str, reference: str) -> str:
    separator = "@" if ":" in reference else ":"  # digests contain a colon, tags cannot
    return f"docker://{target.host}/{repository}{separator}{reference}"


def _run(args: list[str], timeout: float = 300) -> bytes:
    proc = subprocess.run([SKOPEO, *args], capture_output=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"skopeo {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr.decode()}")
    return proc.stdout


def inspect_raw(target: SkopeoTarget, repository: str, reference: str) -> bytes:
    """The exact manifest bytes the registry serves for ``reference`` (tag or digest)."""
    return _run(["inspect", "--raw", *_transport_flags(target), _ref(target, repository, reference)])


def inspect_raw_digest(target: SkopeoTarget, repository: str, reference: str) -> str:
    """``sha256:`` of the raw manifest bytes (for schema 1 this differs from the registry's digest)."""
    return "sha256:" + hashlib.sha256(inspect_raw(target, repository, reference)).hexdigest()


def inspect_raw_config(target: SkopeoTarget, repository: str, reference: str) -> bytes:
    """The raw config blob of a single-platform image."""
    args = ["inspect", "--raw", "--config", *_transport_flags(target), _ref(target, repository, reference)]
    return _run(args)


def skopeo_list_tags(target: SkopeoTarget, repository: str) -> list[str]:
    out = _run(["list-tags", *_transport_flags(target), f"docker://{target.host}/{repository}"])
    tags: list[str] = json.loads(out)["Tags"] or []
    return tags


def skopeo_copy(
    source: SkopeoTarget,
    src_repository: str,
    src_reference: str,
    dest: SkopeoTarget,
    dest_repository: str,
    dest_reference: str,
    *,
    all_platforms: bool = True,
) -> None:
    """Reference copy with digests preserved (``--all --preserve-digests``)."""
    with tempfile.TemporaryDirectory() as tmp:
        policy = Path(tmp) / "policy.json"
        policy.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
        args = ["--policy", str(policy), "copy", "--preserve-digests", "--retry-times", "0"]
        if all_platforms:
            args.append("--all")
        args += _transport_flags(source, "src-") + _transport_flags(dest, "dest-")
        args += [_ref(source, src_repository, src_reference), _ref(dest, dest_repository, dest_reference)]
        _run(args)
