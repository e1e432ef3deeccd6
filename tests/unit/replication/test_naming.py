from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ferry.errors import InvalidInput
from ferry.replication.naming import FLATTEN_ALL, FLATTEN_HINT, check_depth, map_repository


@pytest.mark.parametrize(
    ("replace_count", "expected"),
    [
        (-1, "n/image"),
        (0, "n/a/b/c/image"),
        (1, "n/b/c/image"),
        (2, "n/c/image"),
        (3, "n/image"),
    ],
)
def test_reference_table(replace_count: int, expected: str) -> None:
    assert map_repository("a/b/c/image", namespace="n", replace_count=replace_count) == expected


def test_removing_more_components_than_precede_the_last_one_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        map_repository("a/b/c/image", namespace="n", replace_count=4)
    message = caught.value.message
    assert "'a/b/c/image'" in message
    assert "4 components" in message
    assert "remove 4" in message
    assert caught.value.hint == FLATTEN_HINT
    assert "--flatten" in str(caught.value)
    assert "dest_namespace_replace_count" in str(caught.value)


@pytest.mark.parametrize(
    ("replace_count", "expected"),
    [(-1, "image"), (0, "a/b/c/image"), (1, "b/c/image"), (3, "image")],
)
def test_empty_namespace_keeps_the_flattened_source_path(replace_count: int, expected: str) -> None:
    assert map_repository("a/b/c/image", namespace="", replace_count=replace_count) == expected


@pytest.mark.parametrize(
    ("replace_count", "expected"),
    [(-1, "team/mirror/image"), (0, "team/mirror/a/b/image"), (2, "team/mirror/image")],
)
def test_nested_namespace(replace_count: int, expected: str) -> None:
    assert map_repository("a/b/image", namespace="team/mirror", replace_count=replace_count) == expected


def test_surrounding_slashes_of_the_namespace_are_ignored() -> None:
    assert map_repository("library/nginx", namespace="/mirror/", replace_count=0) == "mirror/library/nginx"


def test_single_component_source() -> None:
    assert map_repository("nginx", namespace="n", replace_count=0) == "n/nginx"
    assert map_repository("nginx", namespace="n", replace_count=-1) == "n/nginx"
    with pytest.raises(InvalidInput, match="at most 0"):
        map_repository("nginx", namespace="n", replace_count=1)


@pytest.mark.parametrize("replace_count", [-2, -10])
def test_counts_below_minus_one_are_refused(replace_count: int) -> None:
    with pytest.raises(InvalidInput, match=f"invalid flattening level {replace_count}"):
        map_repository("a/b", namespace="n", replace_count=replace_count)


@pytest.mark.parametrize("source", ["", "a//b", "/a/b", "a/b/"])
def test_sources_with_empty_components_are_refused(source: str) -> None:
    with pytest.raises(InvalidInput, match="empty path component"):
        map_repository(source, namespace="n", replace_count=0)


def test_namespace_with_empty_component_is_refused() -> None:
    with pytest.raises(InvalidInput, match="destination namespace"):
        map_repository("a/b", namespace="x//y", replace_count=0)


@pytest.mark.parametrize(
    ("destination", "exact", "minimum"),
    [
        ("library/nginx", 2, None),
        ("project/a/b/nginx", None, 2),
        ("project/nginx", None, 2),
        ("anything/at/all", None, None),
    ],
)
def test_check_depth_accepts(destination: str, exact: int | None, minimum: int | None) -> None:
    check_depth(destination, exact=exact, minimum=minimum, registry_kind="some registry")


@pytest.mark.parametrize(
    ("destination", "exact", "minimum", "kind", "expected"),
    [
        ("a/b/nginx", 2, None, "docker-hub", "has 3 path components, but docker-hub needs exactly 2"),
        ("nginx", 2, None, "ali-acr", "has 1 path component, but ali-acr needs exactly 2"),
        ("nginx", None, 2, "harbor", "has 1 path component, but harbor needs at least 2"),
    ],
)
def test_check_depth_refuses(
    destination: str, exact: int | None, minimum: int | None, kind: str, expected: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_depth(destination, exact=exact, minimum=minimum, registry_kind=kind)
    assert repr(destination) in caught.value.message
    assert expected in caught.value.message
    assert caught.value.hint is not None
    assert "dest_namespace_replace_count" in caught.value.hint


COMPONENT = st.text(alphabet="abcdefghij0123456789-._", min_size=1, max_size=8)
PATHS = st.lists(COMPONENT, min_size=1, max_size=6)
NAMESPACES = st.lists(COMPONENT, max_size=3).map("/".join)


@given(source=PATHS, namespace=NAMESPACES, data=st.data())
def test_result_ends_with_the_source_name(source: list[str], namespace: str, data: st.DataObject) -> None:
    replace_count = data.draw(st.integers(min_value=-1, max_value=len(source) - 1))
    result = map_repository("/".join(source), namespace=namespace, replace_count=replace_count)
    assert result.split("/")[-1] == source[-1]
    assert result.startswith(namespace)


@given(source=PATHS, namespace=NAMESPACES)
def test_flatten_all_keeps_namespace_and_last_component(source: list[str], namespace: str) -> None:
    result = map_repository("/".join(source), namespace=namespace, replace_count=FLATTEN_ALL)
    assert result == (f"{namespace}/{source[-1]}" if namespace else source[-1])


@given(source=PATHS, namespace=NAMESPACES, data=st.data())
def test_count_removes_that_many_leading_components(
    source: list[str], namespace: str, data: st.DataObject
) -> None:
    replace_count = data.draw(st.integers(min_value=0, max_value=len(source) - 1))
    result = map_repository("/".join(source), namespace=namespace, replace_count=replace_count)
    kept = source[replace_count:]
    assert result.split("/") == ([*namespace.split("/"), *kept] if namespace else kept)


@given(source=PATHS, namespace=NAMESPACES, extra=st.integers(min_value=0, max_value=5))
def test_counts_past_the_last_component_are_refused(source: list[str], namespace: str, extra: int) -> None:
    with pytest.raises(InvalidInput):
        map_repository("/".join(source), namespace=namespace, replace_count=len(source) + extra)
