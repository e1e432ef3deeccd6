"""``explain_empty_name_filter``: why a name filter selects nothing, and the pattern that would."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ferry.replication.domain.plan import explain_empty_name_filter, plan_policy
from ferry.replication.domain.policy import Filter, FilterType

from .builders import artifact, name, repository, valid_policy

HARBOR = [
    "library/nms4cloud-gateway",
    "library/nms4cloud-web",
    "library/nms4cloud-job",
    "library/nginx",
    "ops/tool",
]


def test_the_guides_name_filter_gets_the_globstar_and_the_prefix_suggestion() -> None:
    explanation = explain_empty_name_filter(valid_policy(name("nms4cloud-*")), HARBOR)
    assert explanation == (
        "name filter 'nms4cloud-*' matches none of the 5 repositories: names are matched against the full "
        "repository path, such as 'library/nms4cloud-gateway'; '**/nms4cloud-*' would match 3 repositories, "
        "'library/nms4cloud-*' would match 3 repositories"
    )


def test_the_suggestions_really_match() -> None:
    source = [repository(path, artifact(path, "v1")) for path in HARBOR]
    for pattern in ("**/nms4cloud-*", "library/nms4cloud-*"):
        assert len(plan_policy(valid_policy(name(pattern)), source)) == 3


def test_no_prefix_suggestion_when_matches_live_in_different_projects() -> None:
    explanation = explain_empty_name_filter(valid_policy(name("app")), ["team-a/app", "team-b/app", "x/y"])
    assert explanation is not None
    assert explanation.endswith("'**/app' would match 2 repositories")


def test_a_common_prefix_can_be_several_components() -> None:
    explanation = explain_empty_name_filter(valid_policy(name("app-*")), ["org/team/app-1", "org/team/app-2"])
    assert explanation is not None
    assert "'org/team/app-*' would match 2 repositories" in explanation


def test_one_match_is_singular() -> None:
    explanation = explain_empty_name_filter(valid_policy(name("nginx")), HARBOR)
    assert explanation is not None
    assert "'**/nginx' would match 1 repository," in explanation


def test_comma_lists_are_widened_item_by_item() -> None:
    explanation = explain_empty_name_filter(valid_policy(name("nginx, tool")), HARBOR)
    assert explanation is not None
    assert "'**/nginx, **/tool' would match 2 repositories" in explanation


def test_a_pattern_with_a_path_that_misses_a_deeper_repository() -> None:
    explanation = explain_empty_name_filter(valid_policy(name("library/nms*")), ["proj/library/nms-1"])
    assert explanation is not None
    assert "'**/library/nms*' would match 1 repository" in explanation


def test_capitals_are_pointed_out_because_repository_names_are_lower_case() -> None:
    explanation = explain_empty_name_filter(valid_policy(name("library/NMS4cloud-*")), HARBOR)
    assert explanation is not None
    assert "repository names are lower case" in explanation
    assert "'library/nms4cloud-*' would match 3 repositories" in explanation


def test_no_suggestion_when_nothing_would_match() -> None:
    explanation = explain_empty_name_filter(valid_policy(name("redis-*")), HARBOR)
    assert explanation == (
        "name filter 'redis-*' matches none of the 5 repositories: names are matched against the full "
        "repository path, such as 'library/nginx'"
    )


def test_suggestions_respect_the_other_name_filters() -> None:
    explanation = explain_empty_name_filter(valid_policy(name("ops/**"), name("nms4cloud-*")), HARBOR)
    assert explanation is not None
    assert "would match" not in explanation


def test_filters_that_each_match_but_not_together_are_explained() -> None:
    explanation = explain_empty_name_filter(valid_policy(name("ops/**"), name("library/**")), HARBOR)
    assert explanation is not None
    assert "no repository matches all of them" in explanation
    assert "'ops/**', 'library/**'" in explanation


def test_nothing_to_explain() -> None:
    assert explain_empty_name_filter(valid_policy(name("**/nms4cloud-*")), HARBOR) is None
    assert explain_empty_name_filter(valid_policy(), HARBOR) is None
    assert explain_empty_name_filter(valid_policy(name("")), HARBOR) is None
    assert explain_empty_name_filter(valid_policy(name("nms4cloud-*")), []) is None
    assert explain_empty_name_filter(valid_policy(Filter(FilterType.TAG, "nothing")), HARBOR) is None


components = st.text(alphabet="abc", min_size=1, max_size=3)
paths = st.lists(components, min_size=2, max_size=4).map("/".join)


@given(st.lists(paths, min_size=1, max_size=8, unique=True), components)
def test_every_suggested_count_is_what_the_plan_selects(names: list[str], last: str) -> None:
    policy = valid_policy(name(f"{last}*"))
    explanation = explain_empty_name_filter(policy, names)
    if explanation is None:
        return
    source = [repository(path, artifact(path, "v1")) for path in names]
    for part in explanation.split("; ", 1)[1:]:
        for suggestion in part.split(", '"):
            pattern, count = suggestion.strip("'").split("' would match ")
            selected = plan_policy(valid_policy(name(pattern)), source)
            assert len(selected) == int(count.split()[0])
