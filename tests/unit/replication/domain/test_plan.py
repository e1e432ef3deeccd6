from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ferry.replication.domain.fields import InvalidField
from ferry.replication.domain.labels import ArtifactLabels
from ferry.replication.domain.plan import (
    PlannedArtifact,
    PlannedTask,
    destination_repository,
    plan_policy,
)
from ferry.replication.domain.policy import Decoration, Filter, FilterType
from ferry.replication.domain.registry import RegistryType
from ferry.replication.domain.status import Operation

from .builders import artifact, digest, name, repository, valid_policy

PRODUCTION = ArtifactLabels.of(config={"production": "true"})
GUIDE_SOURCE = [
    repository(
        "library/nms4cloud-gateway",
        artifact("gw-1", "prod-1.2", "latest", labels=PRODUCTION),
        artifact("gw-2", "v1.3", "dev-7", labels=ArtifactLabels.of(harbor=["production"])),
        artifact("gw-3", "prod-0.9"),
    ),
    repository("library/nms4cloud-web", artifact("web-1", "v2", labels=PRODUCTION)),
    repository("library/nginx", artifact("nginx-1", "prod-1", labels=PRODUCTION)),
]


def tags(tasks: list[PlannedTask]) -> dict[str, list[str]]:
    return {task.source: list(task.references) for task in tasks}


def test_no_filters_copy_everything_one_task_per_repository_sorted() -> None:
    tasks = plan_policy(valid_policy(), reversed(GUIDE_SOURCE))
    assert [task.source for task in tasks] == [
        "library/nginx",
        "library/nms4cloud-gateway",
        "library/nms4cloud-web",
    ]
    assert all(task.operation is Operation.COPY for task in tasks)
    assert tasks[1].artifacts == (
        PlannedArtifact(digest("gw-1"), ("prod-1.2", "latest")),
        PlannedArtifact(digest("gw-2"), ("v1.3", "dev-7")),
        PlannedArtifact(digest("gw-3"), ("prod-0.9",)),
    )


def test_the_guides_filters_name_tag_and_label() -> None:
    policy = valid_policy(
        name("**/nms4cloud-*"),
        Filter(FilterType.TAG, "prod-*, v*"),
        Filter(FilterType.LABEL, ("production",)),
    )
    assert tags(plan_policy(policy, GUIDE_SOURCE)) == {
        "library/nms4cloud-gateway": ["prod-1.2", "v1.3"],
        "library/nms4cloud-web": ["v2"],
    }


def test_the_guides_bare_name_filter_selects_nothing() -> None:
    assert plan_policy(valid_policy(name("nms4cloud-*")), GUIDE_SOURCE) == []


def test_name_filters_match_the_full_path() -> None:
    assert tags(plan_policy(valid_policy(name("library/nginx")), GUIDE_SOURCE)) == {
        "library/nginx": ["prod-1"]
    }
    assert plan_policy(valid_policy(name("nginx")), GUIDE_SOURCE) == []
    assert len(plan_policy(valid_policy(name("{library,harbor}/**")), GUIDE_SOURCE)) == 3


def test_several_name_filters_must_all_match() -> None:
    policy = valid_policy(name("library/**"), name("**/nms4cloud-*"), name("**/*-web"))
    assert [task.source for task in plan_policy(policy, GUIDE_SOURCE)] == ["library/nms4cloud-web"]


def test_tag_excludes_keeps_the_other_tags_and_drops_an_artifact_left_without_tags() -> None:
    policy = valid_policy(name("**/nms4cloud-gateway"), Filter(FilterType.TAG, "prod-*", Decoration.EXCLUDES))
    (task,) = plan_policy(policy, GUIDE_SOURCE)
    assert task.artifacts == (
        PlannedArtifact(digest("gw-1"), ("latest",)),
        PlannedArtifact(digest("gw-2"), ("v1.3", "dev-7")),
    )


def test_tag_matches_and_excludes_combine() -> None:
    policy = valid_policy(
        Filter(FilterType.TAG, "v*, prod-*"), Filter(FilterType.TAG, "prod-0.*", Decoration.EXCLUDES)
    )
    assert tags(plan_policy(policy, GUIDE_SOURCE))["library/nms4cloud-gateway"] == ["prod-1.2", "v1.3"]


@pytest.mark.parametrize(
    ("tag_filter", "kept"),
    [
        (None, True),
        (Filter(FilterType.TAG, ""), True),
        (Filter(FilterType.TAG, "*"), True),
        (Filter(FilterType.TAG, "**"), True),
        (Filter(FilterType.TAG, "?*"), False),
        (Filter(FilterType.TAG, "v*"), False),
        (Filter(FilterType.TAG, "", Decoration.EXCLUDES), True),
        (Filter(FilterType.TAG, "v*", Decoration.EXCLUDES), True),
        (Filter(FilterType.TAG, "?*", Decoration.EXCLUDES), True),
        (Filter(FilterType.TAG, "*", Decoration.EXCLUDES), False),
    ],
)
def test_untagged_artifacts_are_matched_as_the_empty_tag(tag_filter: Filter | None, kept: bool) -> None:
    source = [repository("library/app", artifact("untagged"))]
    policy = valid_policy(*([tag_filter] if tag_filter else []))
    expected = [
        PlannedTask(Operation.COPY, "library/app", "library/app", (PlannedArtifact(digest("untagged")),))
    ]
    assert plan_policy(policy, source) == (expected if kept else [])


def test_an_untagged_artifact_is_referenced_by_digest() -> None:
    (task,) = plan_policy(valid_policy(), [repository("a/app", artifact("x"), artifact("y", "v1", "v2"))])
    assert task.references == (str(digest("x")), "v1", "v2")


def test_label_filter_production_matches_harbor_labels_config_labels_and_annotations() -> None:
    source = [
        repository(
            "library/app",
            artifact("harbor", "h", labels=ArtifactLabels.of(harbor=["production"])),
            artifact("config", "c", labels=ArtifactLabels.of(config={"production": ""})),
            artifact("annotation", "a", labels=ArtifactLabels.of(annotations={"production": "yes"})),
            artifact("other", "o", labels=ArtifactLabels.of(config={"tier": "production"})),
            artifact("none", "n"),
        )
    ]
    matches = valid_policy(Filter(FilterType.LABEL, ("production",)))
    excludes = valid_policy(Filter(FilterType.LABEL, ("production",), Decoration.EXCLUDES))
    by_value = valid_policy(Filter(FilterType.LABEL, ("tier=production",)))
    assert tags(plan_policy(matches, source)) == {"library/app": ["h", "c", "a"]}
    assert tags(plan_policy(excludes, source)) == {"library/app": ["o", "n"]}
    assert tags(plan_policy(by_value, source)) == {"library/app": ["o"]}


def test_resource_filters_are_stored_but_not_applied() -> None:
    assert len(plan_policy(valid_policy(Filter(FilterType.RESOURCE, "artifact")), GUIDE_SOURCE)) == 3


def test_repositories_without_artifacts_get_no_task() -> None:
    assert plan_policy(valid_policy(), [repository("library/empty")]) == []


@pytest.mark.parametrize(
    ("replace_count", "expected"),
    [(-1, "n/image"), (0, "n/a/b/c/image"), (1, "n/b/c/image"), (2, "n/c/image"), (3, "n/image")],
)
def test_the_flattening_table_through_planning(replace_count: int, expected: str) -> None:
    policy = valid_policy(dest_namespace="n", dest_namespace_replace_count=replace_count)
    (task,) = plan_policy(policy, [repository("a/b/c/image", artifact("i", "v1"))])
    assert (task.source, task.destination) == ("a/b/c/image", expected)


def test_flattening_too_deep_names_the_setting() -> None:
    policy = valid_policy(dest_namespace="n", dest_namespace_replace_count=4)
    with pytest.raises(InvalidField) as caught:
        plan_policy(policy, [repository("a/b/c/image", artifact("i", "v1"))])
    error = caught.value
    assert error.field == "dest_namespace_replace_count"
    assert "'a/b/c/image'" in error.message
    assert "push-prod" in error.message
    assert "dest_namespace_replace_count to at most 3" in (error.hint or "")
    assert "-1" in (error.hint or "")


@pytest.mark.parametrize("replace_count", [-1, 0, 1, 5])
def test_an_empty_namespace_keeps_the_source_path_as_harbor_does(replace_count: int) -> None:
    policy = valid_policy(dest_namespace_replace_count=replace_count)
    assert destination_repository(policy, "a/b/c/image") == "a/b/c/image"


def test_filtered_out_repositories_cannot_make_flattening_fail() -> None:
    policy = valid_policy(name("a/*"), dest_namespace="n", dest_namespace_replace_count=1)
    source = [repository("a/app", artifact("1", "v1")), repository("solo", artifact("2", "v1"))]
    assert [task.destination for task in plan_policy(policy, source)] == ["n/app"]


def test_three_levels_for_a_two_level_destination_names_the_setting() -> None:
    policy = valid_policy(dest_namespace="lgy-images", dest_namespace_replace_count=0)
    source = [repository("library/app", artifact("1", "v1"))]
    with pytest.raises(InvalidField) as caught:
        plan_policy(policy, source, destination_type=RegistryType.ALI_ACR)
    error = caught.value
    assert error.field == "dest_namespace_replace_count"
    assert "'lgy-images/library/app' has 3 path components, but ali-acr needs exactly 2" in error.message
    assert "dest_namespace_replace_count -1" in (error.hint or "")


@pytest.mark.parametrize(
    ("destination_type", "namespace", "replace_count", "expected"),
    [
        (RegistryType.ALI_ACR, "lgy-images", 1, "lgy-images/app"),
        (RegistryType.DOCKER_HUB, "myorg", -1, "myorg/app"),
        (RegistryType.HARBOR, "mirror", 0, "mirror/library/app"),
        (RegistryType.HARBOR, "", 0, "library/app"),
        (RegistryType.DOCKER_REGISTRY, "", 0, "library/app"),
    ],
)
def test_destinations_of_the_right_depth_plan(
    destination_type: RegistryType, namespace: str, replace_count: int, expected: str
) -> None:
    policy = valid_policy(dest_namespace=namespace, dest_namespace_replace_count=replace_count)
    assert destination_repository(policy, "library/app", destination_type=destination_type) == expected


def test_harbor_destinations_need_a_project() -> None:
    with pytest.raises(InvalidField, match="at least 2"):
        destination_repository(valid_policy(), "app", destination_type=RegistryType.HARBOR)


def test_flattening_two_repositories_onto_one_tag_with_different_content_is_refused() -> None:
    policy = valid_policy(dest_namespace="n", dest_namespace_replace_count=-1)
    source = [repository("team-a/app", artifact("a", "v1")), repository("team-b/app", artifact("b", "v1"))]
    with pytest.raises(InvalidField) as caught:
        plan_policy(policy, source)
    assert caught.value.field == "dest_namespace_replace_count"
    assert "team-a/app:v1 and team-b/app:v1 would both be replicated to n/app:v1" in caught.value.message


def test_flattening_two_repositories_onto_one_is_fine_when_tags_do_not_clash() -> None:
    policy = valid_policy(dest_namespace="n", dest_namespace_replace_count=-1)
    source = [
        repository("team-a/app", artifact("a", "v1"), artifact("same", "latest")),
        repository("team-b/app", artifact("b", "v2"), artifact("same", "latest")),
    ]
    assert [task.destination for task in plan_policy(policy, source)] == ["n/app", "n/app"]


tag_text = st.text(alphabet="abv1.-", min_size=1, max_size=5)
patterns = st.sampled_from(["", "*", "**", "?*", "v*", "v*, a*", "{a,b}*", "*.1"])


@given(
    st.lists(st.lists(tag_text, max_size=4, unique=True), max_size=6),
    patterns,
    st.sampled_from(Decoration),
)
def test_kept_tags_are_a_subset_and_matches_excludes_partition_them(
    artifact_tags: list[list[str]], pattern: str, decoration: Decoration
) -> None:
    source = [
        repository("r/app", *(artifact(str(index), *names) for index, names in enumerate(artifact_tags)))
    ]
    planned = plan_policy(valid_policy(Filter(FilterType.TAG, pattern, decoration)), source)
    kept = {(str(item.digest), tag) for task in planned for item in task.artifacts for tag in item.tags}
    everything = {
        (str(digest(str(index))), tag) for index, names in enumerate(artifact_tags) for tag in names
    }
    assert kept <= everything
    other = Decoration.EXCLUDES if decoration is Decoration.MATCHES else Decoration.MATCHES
    opposite = plan_policy(valid_policy(Filter(FilterType.TAG, pattern, other)), source)
    kept_opposite = {
        (str(item.digest), tag) for task in opposite for item in task.artifacts for tag in item.tags
    }
    if pattern:
        assert kept | kept_opposite == everything
        assert not kept & kept_opposite
