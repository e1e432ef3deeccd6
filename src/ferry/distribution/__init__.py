"""The OCI Distribution API over HTTP: auth challenges, manifests, blobs, uploads, tags and retries.

This is the only package that imports the HTTP library; everything above it sees ferry's own
values (``Manifest``, ``Digest``) and ferry's exception tree.
"""

import sys
import types


# httpx imports its optional command-line tool (click, rich and pygments) as soon as those are
# installed, and ferry never uses it. Every ferry command pays for that import at start-up (about
# 70 ms, a tenth of a no-op re-sync), so ferry registers an empty stand-in before httpx loads.
def _httpx_cli_unavailable() -> None:
    raise RuntimeError("httpx's command-line tool is not loaded inside ferry")


if "httpx" not in sys.modules and "httpx._main" not in sys.modules:
    _unused_cli = types.ModuleType("httpx._main")
    _unused_cli.main = _httpx_cli_unavailable  # type: ignore[attr-defined]
    sys.modules["httpx._main"] = _unused_cli
