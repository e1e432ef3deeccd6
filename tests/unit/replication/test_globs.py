from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ferry.errors import InvalidInput
from ferry.replication.globs import (
    Glob,
    compile_glob,
    compile_pattern_list,
    filter_tags,
    match_glob,
    split_pattern_list,
)

REFERENCE_EXAMPLES = [
    ("*", "library/hello-world", False),
    ("**", "library/hello-world", True),
    ("{library,harbor}/**", "harbor/hello-world", True),
    ("{library,harbor}/**", "library/hello-world", True),
    ("1.?", "1.01", False),
    ("1.?", "1.0", True),
    ("v2.[4-6].*", "v2.4.0", True),
    ("v2.[4-7].*", "v2.7.0", True),
    ("nms4cloud-*", "library/nms4cloud-gateway", False),
    ("**/nms4cloud-*", "library/nms4cloud-gateway", True),
    ("library/nms4cloud-*", "library/nms4cloud-gateway", True),
    ("library/**", "library", False),
    ("", "library", True),
    ("", "", True),
    ("*", "library", True),
    ("*", "", True),
    ("**", "", True),
    ("?*", "", False),
]

GLOBSTAR = [
    ("a/**/b", "a/b", True),
    ("a/**/b", "a/x/b", True),
    ("a/**/b", "a/x/y/z/b", True),
    ("a/**/b", "a/xb", False),
    ("a/**/b", "ab", False),
    ("**/b", "b", True),
    ("**/b", "x/y/b", True),
    ("**/b", "xb", False),
    ("library/**", "library/a/b/c", True),
    ("library/**", "library2/a", False),
    ("**/**/b", "b", True),
    ("a/**/**/b", "a/b", True),
    ("**/**", "x/y", True),
    ("/**", "/x/y", True),
    ("**/", "x/y/", True),
    ("**/", "x/y", False),
    ("a/**/b/**/c", "a/b/c", True),
    ("a/**/b/**/c", "a/1/b/2/3/c", True),
    ("a/**/b/**/c", "a/1/c", False),
]

STAR_RUNS = [
    ("a**", "abc", True),
    ("a**", "a/bc", False),
    ("**a", "xa", True),
    ("**a", "x/a", False),
    ("a/**b", "a/xb", True),
    ("a/**b", "a/x/b", False),
    ("a/***/b", "a/x/b", True),
    ("a/***/b", "a/x/y/b", False),
    ("a/*/b", "a/b", False),
    ("a/*/b", "a//b", True),
    ("*-*", "prod-1", True),
    ("*-*", "prod1", False),
    ("*.*.*", "1.2.3", True),
]

CLASSES = [
    ("[abc]", "b", True),
    ("[abc]", "d", False),
    ("[a-z]x", "qx", True),
    ("[a-z]x", "Qx", False),
    ("[^a-z]", "Q", True),
    ("[^a-z]", "q", False),
    ("[^a]", "/", False),
    ("[!a]", "!", True),
    ("[!a]", "b", False),
    ("[+-0]", "/", False),
    ("[+-0]", ".", True),
    ("[z-a]", "m", False),
    ("[^z-a]", "m", True),
    ("[^]", "x", True),
    ("[\\]]", "]", True),
    ("[\\-]", "-", True),
    ("[a\\-z]", "b", False),
    ("[a-c][0-9]", "b7", True),
    ("v[0-9].[0-9]", "v1.10", False),
]

ALTERNATIVES = [
    ("{a,b}", "a", True),
    ("{a,b}", "c", False),
    ("{a,b}", "", False),
    ("{}", "", True),
    ("{,a}", "", True),
    ("a{,b}", "a", True),
    ("a{,b}", "ab", True),
    ("{a,{b,c}d}", "cd", True),
    ("{a,{b,c}d}", "c", False),
    ("{a,{b,{c,e}}}x", "ex", True),
    ("{v*,latest}", "v1.2", True),
    ("{v*,latest}", "latest", True),
    ("{v*,latest}", "stable", False),
    ("{library/*,harbor/**}", "harbor/a/b", True),
    ("{library/*,harbor/**}", "library/a/b", False),
    ("{a/**,b}/c", "a/c", True),
    ("{a/**,b}/c", "a/x/y/c", True),
    ("{a/**,b}/c", "b/c", True),
    ("{**,b}/c", "x/c", True),
    ("{**,b}/c", "x/y/c", False),
    ("x{a,b}}", "xa}", True),
    ("a,b", "a,b", True),
    ("a,b", "a", False),
    ("{[,]}", ",", True),
]

ESCAPES = [
    ("\\*", "*", True),
    ("\\*", "a", False),
    ("\\*\\*", "**", True),
    ("\\*\\*", "a/b", False),
    ("\\?", "?", True),
    ("\\?", "a", False),
    ("\\[a]", "[a]", True),
    ("\\{a,b}", "{a,b}", True),
    ("\\{a,b}", "a", False),
    ("a\\\\b", "a\\b", True),
    ("\\a", "a", True),
    ("a\\/b", "a/b", True),
]

LITERALS = [
    ("library/nginx", "library/nginx", True),
    ("library/nginx", "library/nginx2", False),
    ("library/nginx", "Library/nginx", False),
    ("v1.0", "v1x0", False),
    ("a+b", "a+b", True),
    ("(a)", "(a)", True),
    ("^a$", "^a$", True),
    ("]", "]", True),
    ("}", "}", True),
    ("ü*", "über", True),
]


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    REFERENCE_EXAMPLES + GLOBSTAR + STAR_RUNS + CLASSES + ALTERNATIVES + ESCAPES + LITERALS,
)
def test_match_glob(pattern: str, text: str, expected: bool) -> None:
    assert match_glob(pattern, text) is expected


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("[abc", "'[' at position 0 is never closed"),
        ("v[0-9", "'[' at position 1 is never closed"),
        ("[]", "character class at position 0 is empty"),
        ("{a,b", "'{' at position 0 is never closed"),
        ("x{a,{b}", "'{' at position 1 is never closed"),
        ("abc\\", "lone escape character"),
        ("[a\\", "lone escape character"),
        ("[-a]", "'-' at position 1 must be escaped"),
        ("[a-b-c]", "'-' at position 4 must be escaped"),
        ("[a-]", "has no upper end"),
    ],
)
def test_invalid_pattern_names_pattern_and_problem(pattern: str, problem: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        compile_glob(pattern)
    assert repr(pattern) in caught.value.message
    assert problem in caught.value.message
    assert caught.value.hint


def test_invalid_pattern_fails_even_when_the_text_would_not_reach_it() -> None:
    with pytest.raises(InvalidInput):
        match_glob("x[", "a")


def test_compile_glob_is_cached() -> None:
    assert compile_glob("library/*") is compile_glob("library/*")


def test_glob_keeps_its_pattern() -> None:
    glob = compile_glob("v*")
    assert isinstance(glob, Glob)
    assert glob.pattern == "v*"
    assert "v*" in repr(glob)


@pytest.mark.parametrize(
    ("value", "items"),
    [
        ("prod-*, v*", ["prod-*", "v*"]),
        ("prod-*,v*", ["prod-*", "v*"]),
        ("  latest  ", ["latest"]),
        ("{a,b}, c", ["{a,b}", "c"]),
        ("{a,{b,c}},d", ["{a,{b,c}}", "d"]),
        ("[,], x", ["[,]", "x"]),
        ("a\\,b, c", ["a\\,b", "c"]),
        ("a, , b,", ["a", "b"]),
        ("", []),
        ("x}, y", ["x}", "y"]),
    ],
)
def test_split_pattern_list(value: str, items: list[str]) -> None:
    assert split_pattern_list(value) == items


@pytest.mark.parametrize(
    ("value", "text", "expected"),
    [
        ("prod-*, v*", "prod-2024", True),
        ("prod-*, v*", "v1.2", True),
        ("prod-*, v*", "latest", False),
        ("prod-*, v*", "", False),
        ("**/nginx, busybox", "a/b/nginx", True),
        ("**/nginx, busybox", "nginx", True),
        ("**/nginx, busybox", "busybox", True),
        ("{a,b}, c", "b", True),
        ("single", "single", True),
        ("", "anything", True),
        (" , ", "anything", True),
    ],
)
def test_compile_pattern_list(value: str, text: str, expected: bool) -> None:
    assert compile_pattern_list(value).matches(text) is expected


def test_pattern_list_reports_its_items() -> None:
    assert compile_pattern_list("prod-*,  v*").pattern == "prod-*, v*"


def test_pattern_list_rejects_an_invalid_item() -> None:
    with pytest.raises(InvalidInput, match=r"'v\['"):
        compile_pattern_list("prod-*, v[")


TAGS = ["latest", "v1.0", "v1.1", "v2.0-rc1", "prod-2024", ""]


@pytest.mark.parametrize(
    ("matches", "excludes", "kept"),
    [
        ([], [], TAGS),
        (["v*"], [], ["v1.0", "v1.1", "v2.0-rc1"]),
        (["v*", "latest"], [], ["latest", "v1.0", "v1.1", "v2.0-rc1"]),
        (["v*"], ["*-rc*"], ["v1.0", "v1.1"]),
        ([], ["latest"], ["v1.0", "v1.1", "v2.0-rc1", "prod-2024", ""]),
        (["*"], [], TAGS),
        (["**"], [], TAGS),
        (["?*"], [], ["latest", "v1.0", "v1.1", "v2.0-rc1", "prod-2024"]),
        ([], ["?*"], [""]),
        ([""], [], TAGS),
        ([], [""], TAGS),
        (["nothing"], [], []),
    ],
)
def test_filter_tags(matches: list[str], excludes: list[str], kept: list[str]) -> None:
    assert filter_tags(TAGS, matches=matches, excludes=excludes) == kept


def test_filter_tags_keeps_order_and_accepts_any_iterable() -> None:
    assert filter_tags(iter(["b", "a", "b"]), matches=["?"]) == ["b", "a", "b"]


SAFE = st.text(alphabet="abcxyz019._-/:@", max_size=20)
ANY_TEXT = st.text(max_size=30)


@given(literal=SAFE, other=SAFE)
def test_literal_pattern_matches_exactly_itself(literal: str, other: str) -> None:
    glob = compile_glob(literal)
    if literal:
        assert glob.matches(literal)
        assert glob.matches(other) is (other == literal)


@given(text=ANY_TEXT)
def test_double_star_matches_everything(text: str) -> None:
    assert match_glob("**", text)
    assert match_glob("", text)


@given(text=ANY_TEXT)
def test_star_matches_exactly_the_texts_without_a_separator(text: str) -> None:
    assert match_glob("*", text) is ("/" not in text)


@given(text=ANY_TEXT, other=ANY_TEXT)
def test_escaping_every_character_matches_only_the_text_itself(text: str, other: str) -> None:
    escaped = "".join(f"\\{char}" for char in text)
    if text:
        assert match_glob(escaped, text)
        assert match_glob(escaped, other) is (other == text)


@given(length=st.integers(min_value=1, max_value=8), text=ANY_TEXT)
def test_question_marks_count_non_separator_characters(length: int, text: str) -> None:
    expected = len(text) == length and "/" not in text
    assert match_glob("?" * length, text) is expected


@given(head=SAFE, tail=SAFE, middle=st.lists(st.text(alphabet="abc", max_size=3), max_size=4))
def test_globstar_between_components_spans_any_number_of_components(
    head: str, tail: str, middle: list[str]
) -> None:
    if head and tail and "/" not in head + tail:
        text = "/".join([head, *middle, tail])
        assert match_glob(f"{head}/**/{tail}", text)


@given(pattern=st.text(alphabet="ab/*?[]^-{},\\!", max_size=12), text=st.text(alphabet="ab/-", max_size=8))
def test_any_pattern_either_compiles_or_raises_invalid_input(pattern: str, text: str) -> None:
    try:
        glob = compile_glob(pattern)
    except InvalidInput:
        return
    assert isinstance(glob.matches(text), bool)
