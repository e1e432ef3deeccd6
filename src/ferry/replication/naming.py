"""Where a source repository lands: Harbor's ``dest_namespace`` and ``dest_namespace_replace_count``.

For the source ``a/b/c/image`` and the namespace ``n``::

    replace_count  -1 -> n/image          (flatten everything but the last component)
                    0 -> n/a/b/c/image    (keep the whole path)
                    1 -> n/b/c/image      (drop the first component)
                    2 -> n/c/image
                    3 -> n/image
                    4 -> InvalidInput     (only three components precede ``image``)

Harbor ignores the count when the namespace is empty; ferry still flattens, so that ``--flatten``
works without a namespace. The last component, the image's own name, is never removed.
"""

from __future__ import annotations

from ferry.errors import InvalidInput

FLATTEN_ALL = -1
"""The replace count Harbor stores when the field is omitted."""

FLATTEN_HINT = (
    "lower the flattening level (`--flatten` / `dest_namespace_replace_count`), "
    "or use -1 to keep only the last component"
)


def map_repository(source: str, *, namespace: str, replace_count: int) -> str:
    """The destination repository for ``source``: its path minus ``replace_count`` leading components,
    under ``namespace``."""
    components = _components(source, what="source repository")
    if replace_count < FLATTEN_ALL:
        raise InvalidInput(
            f"invalid flattening level {replace_count} for {source!r}",
            hint="use -1 (keep only the last component), 0 (keep the whole path) or a positive count",
        )
    removable = len(components) - 1
    if replace_count > removable:
        raise InvalidInput(
            f"cannot remove {replace_count} leading path components from {source!r}: it has "
            f"{len(components)} components, so at most {removable} can go before its last one",
            hint=FLATTEN_HINT,
        )
    kept = components[removable:] if replace_count == FLATTEN_ALL else components[replace_count:]
    prefix = namespace.strip("/")
    if prefix:
        _components(prefix, what="destination namespace")
        kept = [prefix, *kept]
    return "/".join(kept)


def check_depth(
    destination: str, *, exact: int | None = None, minimum: int | None = None, registry_kind: str
) -> None:
    """Refuse a destination path whose number of components the registry kind does not accept.

    Docker Hub and Alibaba ACR take exactly 2 (``namespace/repo``), Harbor at least 2 (``project/...``).
    """
    depth = len(destination.split("/"))
    if exact is not None and depth != exact:
        wanted = f"exactly {exact}"
    elif minimum is not None and depth < minimum:
        wanted = f"at least {minimum}"
    else:
        return
    raise InvalidInput(
        f"destination repository {destination!r} has {depth} path component{'s' * (depth != 1)}, "
        f"but {registry_kind} needs {wanted}",
        hint=(
            "change the destination namespace or the flattening level "
            "(`--flatten` / `dest_namespace_replace_count`) so the path has the right depth"
        ),
    )


def _components(path: str, *, what: str) -> list[str]:
    components = path.split("/")
    if not all(components):
        raise InvalidInput(
            f"invalid {what} {path!r}: it has an empty path component",
            hint="write components separated by single slashes, with none at either end",
        )
    return components
