from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ferry.api.query import (
    Condition,
    FieldKind,
    ListQuery,
    Match,
    SortKey,
    apply_query,
    link_header,
    parse_list_query,
)
from ferry.errors import InvalidInput

FIELDS = {
    "id": FieldKind.INTEGER,
    "name": FieldKind.STRING,
    "type": FieldKind.STRING,
    "url": FieldKind.STRING,
    "insecure": FieldKind.BOOLEAN,
    "creation_time": FieldKind.TIME,
    "labels": FieldKind.STRING,
}

REGISTRIES: list[dict[str, Any]] = [
    {
        "id": 1,
        "name": "hub",
        "type": "docker-hub",
        "url": "https://hub.docker.com",
        "insecure": False,
        "creation_time": "2026-01-05T10:00:00.000Z",
        "labels": ["prod", "eu"],
    },
    {
        "id": 2,
        "name": "acr",
        "type": "ali-acr",
        "url": "https://cr.aliyuncs.com",
        "insecure": False,
        "creation_time": "2026-11-28T04:19:19.000Z",
        "labels": ["prod"],
    },
    {
        "id": 3,
        "name": "ACR-backup",
        "type": "ali-acr",
        "url": "https://backup.aliyuncs.com",
        "insecure": True,
        "creation_time": "2026-06-01T00:00:00+02:00",
        "labels": ["eu"],
    },
    {
        "id": 4,
        "name": "~odd",
        "type": "harbor",
        "url": "http://harbor.local",
        "insecure": True,
        "creation_time": None,
        "labels": [],
    },
]


def parse(
    q: str | None = None,
    sort: str | None = None,
    page: int | None = None,
    page_size: int | None = None,
    **options: Any,
) -> ListQuery:
    return parse_list_query(q=q, sort=sort, page=page, page_size=page_size, fields=FIELDS, **options)


def ids(q: str | None = None, sort: str | None = None, **options: Any) -> list[int]:
    page, _ = apply_query(REGISTRIES, parse(q, sort, **options))
    return [item["id"] for item in page]


def invalid(**kwargs: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        parse(**kwargs)
    return caught.value


# --- q: the five value forms -------------------------------------------------------------------


def test_no_q_keeps_every_item_in_input_order() -> None:
    assert ids() == [1, 2, 3, 4]
    assert ids(q="") == [1, 2, 3, 4]


def test_exact_string_is_whole_value_and_case_sensitive() -> None:
    assert ids("name=acr") == [2]
    assert ids("name=ac") == []
    assert ids("name=ACR") == []


def test_exact_integer_and_boolean_values_are_typed() -> None:
    assert ids("id=3") == [3]
    assert ids("insecure=true") == [3, 4]
    assert ids("insecure=False") == [1, 2]


def test_exact_time_compares_instants_not_text() -> None:
    assert ids("creation_time=2026-05-31T22:00:00Z") == [3]


def test_backslash_escapes_a_leading_form_character() -> None:
    assert ids(r"name=\~odd") == [4]


def test_exact_value_is_taken_as_written() -> None:
    assert ids("name= acr") == []
    assert ids('name="acr"') == []


def test_fuzzy_is_a_case_insensitive_substring_as_harbor_ilike() -> None:
    assert ids("name=~cr") == [2, 3]
    assert ids("name=~AcR") == [2, 3]
    assert ids("url=~aliyuncs") == [2, 3]


def test_fuzzy_needs_text_after_the_tilde() -> None:
    error = invalid(q="name=~")
    assert error.message == "q: name=~ has nothing after '~'"


def test_fuzzy_on_a_number_is_refused_with_alternatives() -> None:
    error = invalid(q="id=~3")
    assert "integer" in error.message
    assert "id=[min~max]" in (error.hint or "")


def test_integer_range_is_inclusive() -> None:
    assert ids("id=[2~3]") == [2, 3]


def test_range_may_be_open_on_either_side() -> None:
    assert ids("id=[3~]") == [3, 4]
    assert ids("id=[~2]") == [1, 2]


def test_range_sides_are_trimmed_and_unquoted() -> None:
    assert ids("id=[ 2 ~ '3' ]") == [2, 3]


def test_time_range_compares_as_datetimes_across_offsets_and_skips_missing() -> None:
    assert ids("creation_time=[2026-05-31T22:00:00Z~2026-11-28T04:19:19Z]") == [2, 3]
    assert ids("creation_time=[2026-06-01~]") == [2]


def test_time_without_offset_is_utc() -> None:
    assert ids("creation_time=[~2026-01-05T10:00:00]") == [1]
    assert ids("creation_time=[~2026-01-05 09:59:59]") == []


def test_string_range_is_lexicographic() -> None:
    assert ids("type=[a~b]") == [2, 3]


def test_or_list_matches_any_member() -> None:
    assert ids("type={harbor docker-hub}") == [1, 4]
    assert ids("id={2 3 9}") == [2, 3]


def test_or_list_members_lose_quotes_and_extra_spaces() -> None:
    assert ids("""type={'harbor'  "docker-hub"}""") == [1, 4]


def test_empty_or_list_matches_nothing() -> None:
    assert ids("type={}") == []


def test_or_list_on_a_list_field_needs_one_shared_member() -> None:
    assert ids("labels={eu dev}") == [1, 3]


def test_and_list_on_a_list_field_needs_every_member() -> None:
    assert ids("labels=(prod eu)") == [1]
    assert ids("labels=(prod)") == [1, 2]


def test_and_list_on_a_scalar_field_needs_all_values_equal() -> None:
    assert ids("type=(ali-acr)") == [2, 3]
    assert ids("type=(ali-acr harbor)") == []


def test_exact_and_fuzzy_on_a_list_field_match_a_member() -> None:
    assert ids("labels=eu") == [1, 3]
    assert ids("labels=~PRO") == [1, 2]


def test_conditions_are_anded() -> None:
    assert ids("type=ali-acr,insecure=false") == [2]


def test_a_later_item_for_the_same_field_replaces_the_earlier_as_in_harbor() -> None:
    assert ids("id=1,id=2") == [2]


def test_q_is_url_decoded_once_more_as_harbor_does() -> None:
    assert ids("name%3Dacr") == [2]
    assert ids("type={harbor+docker-hub}") == [1, 4]


def test_q_with_a_stray_percent_is_used_as_it_is() -> None:
    assert ids("name=~%zz") == []


def test_parsed_conditions_carry_kind_and_values() -> None:
    query = parse("id=[1~],type={a b},name=~x")
    assert query.conditions == (
        Condition("id", FieldKind.INTEGER, Match.RANGE, minimum=1),
        Condition("type", FieldKind.STRING, Match.ANY_OF, ("a", "b")),
        Condition("name", FieldKind.STRING, Match.FUZZY, ("x",)),
    )


# --- q: mistakes -------------------------------------------------------------------------------


def test_unknown_field_names_the_field_and_lists_the_known_ones() -> None:
    error = invalid(q="nmae=acr")
    assert error.message == "q: unknown field 'nmae'"
    assert error.hint == "filter by one of: creation_time, id, insecure, labels, name, type, url"


@pytest.mark.parametrize("q", ["name", "=x", "name=", ",", "name=acr,", "name=acr,,type=x"])
def test_item_without_key_or_value_is_refused(q: str) -> None:
    error = invalid(q=q)
    assert error.message.startswith("q: ")
    assert "key=value" in error.message
    assert "name=~ac" in (error.hint or "")


@pytest.mark.parametrize("q", ["id=[1~", "id=[1]", "id=[1~2~3]", "id=[~]", "id=[ ~ ]"])
def test_malformed_range_is_refused(q: str) -> None:
    error = invalid(q=q)
    assert error.message.startswith(f"q: {q} ")
    assert "[min~max]" in (error.hint or "")


def test_range_on_a_boolean_is_refused() -> None:
    assert "no range" in invalid(q="insecure=[false~true]").message


def test_commas_inside_a_list_split_the_item_as_in_harbor() -> None:
    error = invalid(q="type={harbor,docker-hub}")
    assert error.message == "q: type={harbor does not end with '}'"
    assert error.hint == "separate list members with spaces, not commas: type={a b}"


def test_unclosed_and_list_is_refused() -> None:
    assert invalid(q="labels=(a b").message == "q: labels=(a b does not end with ')'"


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("id=abc", "q: id=abc: 'abc' is not an integer"),
        ("id={1 x}", "q: id={1 x}: 'x' is not an integer"),
        ("insecure=yes", "q: insecure=yes: 'yes' is not true or false"),
        ("creation_time=[yesterday~]", "q: creation_time=[yesterday~]: 'yesterday' is not a time"),
    ],
)
def test_values_that_do_not_fit_the_field_kind_are_refused(q: str, expected: str) -> None:
    assert invalid(q=q).message == expected


# --- sort --------------------------------------------------------------------------------------


def test_sort_ascending_compares_strings_by_code_point() -> None:
    assert ids(sort="name") == [3, 2, 1, 4]


def test_sort_descending() -> None:
    assert ids(sort="-id") == [4, 3, 2, 1]


def test_sort_by_several_keys() -> None:
    assert ids(sort="type,-id") == [3, 2, 1, 4]


def test_sort_times_as_instants_with_missing_first_ascending() -> None:
    assert ids(sort="creation_time") == [4, 1, 3, 2]
    assert ids(sort="-creation_time") == [2, 3, 1, 4]


def test_sort_is_stable() -> None:
    assert ids(sort="insecure") == [1, 2, 3, 4]
    assert ids(sort="-insecure") == [3, 4, 1, 2]


def test_default_sort_applies_only_without_sort() -> None:
    assert ids(default_sort="-id") == [4, 3, 2, 1]
    assert ids(sort="id", default_sort="-id") == [1, 2, 3, 4]


def test_parsed_sort_keys() -> None:
    assert parse(sort="name,-creation_time").sort == (
        SortKey("name", descending=False, kind=FieldKind.STRING),
        SortKey("creation_time", descending=True, kind=FieldKind.TIME),
    )


def test_sort_by_unknown_field_is_refused() -> None:
    error = invalid(sort="-nmae")
    assert error.message == "sort: unknown field 'nmae'"
    assert error.hint == (
        "sort by one of: creation_time, id, insecure, labels, name, type, url; "
        "put '-' before a field for descending order"
    )


def test_sort_outside_sortable_is_refused() -> None:
    error = invalid(sort="url", sortable={"id", "name"})
    assert error.message == "sort: unknown field 'url'"
    assert (error.hint or "").startswith("sort by one of: id, name;")


def test_sort_with_an_empty_field_is_refused() -> None:
    assert invalid(sort="name,").message == "sort: empty field in 'name,'"


# --- page and page_size ------------------------------------------------------------------------


def test_page_defaults_to_first_page_of_ten() -> None:
    query = parse()
    assert (query.page, query.page_size, query.offset) == (1, 10, 0)


def test_offset_counts_whole_pages_before_this_one() -> None:
    assert parse(page=3, page_size=20).offset == 40


def test_page_returns_its_slice_and_the_total() -> None:
    page, total = apply_query(REGISTRIES, parse(page=2, page_size=3))
    assert ([item["id"] for item in page], total) == ([4], 4)


def test_page_past_the_end_is_empty_but_keeps_the_total() -> None:
    assert apply_query(REGISTRIES, parse(page=5, page_size=3)) == ([], 4)


def test_total_counts_matches_not_items() -> None:
    assert apply_query(REGISTRIES, parse("type=ali-acr", page_size=1))[1] == 2


@pytest.mark.parametrize("page", [0, -1])
def test_page_below_one_is_refused(page: int) -> None:
    error = invalid(page=page)
    assert error.message == f"page: {page} is less than 1"


@pytest.mark.parametrize("page_size", [0, -5])
def test_page_size_below_one_is_refused(page_size: int) -> None:
    assert invalid(page_size=page_size).message == f"page_size: {page_size} is less than 1"


def test_page_size_of_100_is_allowed() -> None:
    assert parse(page_size=100).page_size == 100


def test_page_size_above_100_is_refused_as_in_harbor() -> None:
    error = invalid(page_size=500)
    assert error.message == "page_size: 500 is more than 100"
    assert "Link" in (error.hint or "")


# --- Link header -------------------------------------------------------------------------------

POLICIES = "/api/v2.0/replication/policies"


def test_link_with_next_only_on_the_first_page() -> None:
    assert link_header(POLICIES, {}, page=1, page_size=10, total=25) == (
        f'<{POLICIES}?page=2&page_size=10>; rel="next"'
    )


def test_link_with_prev_and_next_joined_as_harbor_does() -> None:
    assert link_header(POLICIES, {"page": "2"}, page=2, page_size=10, total=25) == (
        f'<{POLICIES}?page=1&page_size=10>; rel="prev" , <{POLICIES}?page=3&page_size=10>; rel="next"'
    )


def test_link_with_prev_only_on_the_last_page() -> None:
    assert link_header(POLICIES, {}, page=3, page_size=10, total=25) == (
        f'<{POLICIES}?page=2&page_size=10>; rel="prev"'
    )


def test_no_link_when_everything_fits_on_one_page() -> None:
    assert link_header(POLICIES, {}, page=1, page_size=10, total=10) is None
    assert link_header(POLICIES, {}, page=1, page_size=10, total=0) is None


def test_no_prev_link_from_a_page_past_the_end_as_in_harbor() -> None:
    assert link_header(POLICIES, {}, page=9, page_size=10, total=25) is None


def test_link_keeps_the_other_parameters_sorted_by_name() -> None:
    params = {"sort": "-creation_time", "q": "name=~acr", "page_size": "5"}
    assert link_header(POLICIES, params, page=1, page_size=5, total=6) == (
        f'<{POLICIES}?page=2&page_size=5&q=name=~acr&sort=-creation_time>; rel="next"'
    )


def test_link_encodes_characters_that_would_break_the_url() -> None:
    params = {"q": "type={harbor docker-hub},name=~a&b+c"}
    header = link_header(POLICIES, params, page=1, page_size=1, total=2)
    assert header == (
        f'<{POLICIES}?page=2&page_size=1&q=type={{harbor%20docker-hub}},name=~a%26b%2Bc>; rel="next"'
    )


# --- property: pages tile the sorted, filtered list ---------------------------------------------

ITEMS = st.lists(
    st.fixed_dictionaries(
        {
            "id": st.integers(0, 1000),
            "size": st.one_of(st.none(), st.integers(-3, 3)),
            "name": st.text(alphabet="abAB", max_size=3),
        }
    ),
    max_size=40,
)
SIZE_FIELDS = {"id": FieldKind.INTEGER, "size": FieldKind.INTEGER, "name": FieldKind.STRING}


def expected_order(items: list[Mapping[str, Any]], low: int, descending: bool) -> list[Mapping[str, Any]]:
    kept = [item for item in items if item["size"] is not None and item["size"] >= low]
    by_name = sorted(kept, key=lambda item: item["name"])
    return sorted(by_name, key=lambda item: item["size"], reverse=descending)


@given(items=ITEMS, low=st.integers(-3, 3), descending=st.booleans(), page_size=st.integers(1, 100))
def test_pages_concatenated_equal_the_filtered_sorted_list(
    items: list[Mapping[str, Any]], low: int, descending: bool, page_size: int
) -> None:
    sort = ("-size" if descending else "size") + ",name"
    pages: list[Mapping[str, Any]] = []
    totals = set()
    page = 1
    while True:
        query = parse_list_query(
            q=f"size=[{low}~]", sort=sort, page=page, page_size=page_size, fields=SIZE_FIELDS
        )
        chunk, total = apply_query(items, query)
        totals.add(total)
        if not chunk:
            break
        pages.extend(chunk)
        page += 1
    expected = expected_order(items, low, descending)
    assert pages == expected
    assert totals == {len(expected)}
