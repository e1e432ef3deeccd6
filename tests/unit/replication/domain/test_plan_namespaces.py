"""The namespaces a rule's name filters confine a source to (how catalog-less registries are listed)."""

from __future__ import annotations

import pytest

from ferry.replication.domain.plan import name_filter_namespaces

from .builders import name, valid_policy


@pytest.mark.parametrize(
    ("patterns", "expected"),
    [
        (["library/**"], ["library"]),
        (["library/**, myorg/app-*"], ["library", "myorg"]),
        (["lgy-images/nms4cloud-*", "lgy-images/**"], ["lgy-images"]),
        (["**/web"], []),
        (["lib*/web"], []),
        (["{a,b}/web"], []),
        (["web"], []),
        ([], []),
    ],
)
def test_literal_first_components_are_the_namespaces(patterns: list[str], expected: list[str]) -> None:
    policy = valid_policy(*(name(pattern) for pattern in patterns))
    assert name_filter_namespaces(policy) == expected
