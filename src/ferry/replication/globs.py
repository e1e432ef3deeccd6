"""Harbor's filter patterns: doublestar v1 ``Match`` with ``/`` as the separator, whole-string match.

Syntax: ``*`` any run of non-``/`` characters (may be empty); ``**`` as a whole path component any
number of components (``a/**/b`` matches ``a/b``), elsewhere the same as ``*``; ``?`` one non-``/``
character; ``[abc]``, ``[a-z]``, ``[^a-z]`` one non-``/`` character (doublestar has no ``[!...]``: ``!``
is an ordinary member); ``{a,b}`` alternatives, nestable, which may hold wildcards and ``/``;
``\\`` escapes the next character. The empty pattern matches everything, as in Harbor's filters.

Each pattern is compiled once to a regular expression. Unlike doublestar, which reports a malformed
pattern only if matching happens to reach the broken part, every error is raised up front.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ferry.errors import InvalidInput

_CACHE_SIZE = 1024
_COMPONENT = "[^/]"


@dataclass(frozen=True)
class Glob:
    """A compiled pattern; ``regex`` is its translation, kept for diagnostics."""

    pattern: str
    regex: re.Pattern[str] = field(repr=False)

    def matches(self, text: str) -> bool:
        return self.regex.fullmatch(text) is not None


@functools.lru_cache(maxsize=_CACHE_SIZE)
def compile_glob(pattern: str) -> Glob:
    """Compile one pattern; raises ``InvalidInput`` naming the pattern and what is wrong with it."""
    if not pattern:
        return Glob(pattern, re.compile(".*", re.DOTALL))
    nodes, _ = _parse_sequence(pattern, 0, nested=False)
    return Glob(pattern, re.compile(_emit(nodes, at_start=True, right=_Edge.END), re.DOTALL))


def match_glob(pattern: str, text: str) -> bool:
    return compile_glob(pattern).matches(text)


def split_pattern_list(value: str) -> list[str]:
    """Split a comma list such as ``prod-*, v*`` (the Harbor guide's notation) into its patterns.

    Commas inside ``{}``, inside ``[]`` or escaped do not split; items are trimmed and empty ones dropped.
    """
    items: list[str] = []
    start = depth = 0
    escaped = in_class = False
    for index, char in enumerate(value):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "{":
            depth += 1
        elif char == "}" and depth:
            depth -= 1
        elif char == "," and not depth:
            items.append(value[start:index])
            start = index + 1
    items.append(value[start:])
    return [item.strip() for item in items if item.strip()]


@functools.lru_cache(maxsize=_CACHE_SIZE)
def compile_pattern_list(value: str) -> Glob:
    """Compile a comma list as alternatives: it matches what any of its patterns matches.

    Each item is compiled as a whole pattern rather than pasted into ``{...}``, so that ``**/x, y``
    keeps its leading ``**`` a globstar (inside braces doublestar treats ``**`` as ``*``).
    """
    globs = [compile_glob(item) for item in split_pattern_list(value)]
    if len(globs) <= 1:
        return globs[0] if globs else compile_glob("")
    combined = "|".join(f"(?:{glob.regex.pattern})" for glob in globs)
    return Glob(", ".join(glob.pattern for glob in globs), re.compile(combined, re.DOTALL))


def filter_tags(
    tags: Iterable[str], *, matches: Sequence[str] = (), excludes: Sequence[str] = ()
) -> list[str]:
    """Keep the tags that match any ``matches`` pattern (all if none) and no ``excludes`` pattern.

    An untagged artifact is the tag ``""``: ``*`` and ``**`` keep it, ``?*`` does not. As in Harbor, an
    empty pattern is no filter at all, so an empty ``excludes`` entry drops nothing.
    """
    keep = [compile_glob(pattern) for pattern in matches if pattern]
    drop = [compile_glob(pattern) for pattern in excludes if pattern]
    return [
        tag
        for tag in tags
        if (not keep or any(glob.matches(tag) for glob in keep))
        and not any(glob.matches(tag) for glob in drop)
    ]


class _Separator:
    """An unescaped ``/``: the only thing that makes a neighbouring ``**`` a globstar."""


_SEPARATOR = _Separator()


@dataclass(frozen=True)
class _Text:
    regex: str


@dataclass(frozen=True)
class _Stars:
    count: int


@dataclass(frozen=True)
class _Alternatives:
    options: tuple[tuple[_Node, ...], ...]


_Node = _Separator | _Text | _Stars | _Alternatives


class _Edge(enum.Enum):
    """What follows a node once alternatives are expanded; only END and SEPARATOR close a globstar."""

    END = enum.auto()
    SEPARATOR = enum.auto()
    OTHER = enum.auto()


def _invalid(pattern: str, problem: str) -> InvalidInput:
    return InvalidInput(
        f"invalid pattern {pattern!r}: {problem}",
        hint="escape a literal * ? [ ] { } or \\ with a backslash",
    )


def _parse_sequence(pattern: str, pos: int, *, nested: bool) -> tuple[list[_Node], int]:
    nodes: list[_Node] = []
    while pos < len(pattern):
        char = pattern[pos]
        if nested and char in ",}":
            break
        if char == "\\":
            if pos + 1 == len(pattern):
                raise _invalid(pattern, "it ends with a lone escape character '\\'")
            nodes.append(_Text(re.escape(pattern[pos + 1])))
            pos += 2
        elif char == "/":
            nodes.append(_SEPARATOR)
            pos += 1
        elif char == "*":
            run = len(pattern) - pos - len(pattern[pos:].lstrip("*"))
            nodes.append(_Stars(run))
            pos += run
        elif char == "[":
            text, pos = _parse_class(pattern, pos)
            nodes.append(text)
        elif char == "{":
            alternatives, pos = _parse_alternatives(pattern, pos)
            nodes.append(alternatives)
        else:
            nodes.append(_Text(_COMPONENT if char == "?" else re.escape(char)))
            pos += 1
    return nodes, pos


def _parse_alternatives(pattern: str, start: int) -> tuple[_Alternatives, int]:
    options: list[tuple[_Node, ...]] = []
    pos = start + 1
    while True:
        nodes, pos = _parse_sequence(pattern, pos, nested=True)
        options.append(tuple(nodes))
        if pos >= len(pattern):
            raise _invalid(pattern, f"the '{{' at position {start} is never closed")
        pos += 1
        if pattern[pos - 1] == "}":
            return _Alternatives(tuple(options)), pos


def _parse_class(pattern: str, start: int) -> tuple[_Text, int]:
    negated = pattern.startswith("^", start + 1)
    pos = start + 2 if negated else start + 1
    ranges: list[tuple[str, str]] = []
    while True:
        if pos >= len(pattern):
            raise _invalid(pattern, f"the '[' at position {start} is never closed")
        if pattern[pos] == "]":
            break
        low, pos = _class_char(pattern, pos)
        high = low
        if pattern.startswith("-", pos):
            if pos + 1 >= len(pattern) or pattern[pos + 1] == "]":
                raise _invalid(pattern, f"the range in the class at position {start} has no upper end")
            high, pos = _class_char(pattern, pos + 1)
        ranges.append((low, high))
    if not ranges and not negated:
        raise _invalid(pattern, f"the character class at position {start} is empty")
    members = "".join(
        re.escape(low) if low == high else f"{re.escape(low)}-{re.escape(high)}"
        for low, high in ranges
        if low <= high
    )
    if negated:
        return _Text(f"[^/{members}]"), pos + 1
    if not members:
        return _Text("(?!)"), pos + 1
    guard = "(?!/)" if any(low <= "/" <= high for low, high in ranges) else ""
    return _Text(f"{guard}[{members}]"), pos + 1


def _class_char(pattern: str, pos: int) -> tuple[str, int]:
    char = pattern[pos]
    if char == "-":
        raise _invalid(pattern, f"the '-' at position {pos} must be escaped or stand between two characters")
    if char != "\\":
        return char, pos + 1
    if pos + 1 >= len(pattern):
        raise _invalid(pattern, "it ends with a lone escape character '\\'")
    return pattern[pos + 1], pos + 2


def _emit(nodes: Sequence[_Node], *, at_start: bool, right: _Edge) -> str:
    """Translate one sequence; ``right`` is what follows it in the enclosing pattern.

    doublestar sees ``**`` as a globstar only between a ``/`` written just before it in the same
    sequence (or the start of the whole pattern) and a ``/`` or the end just after it. A globstar
    takes over one neighbouring ``/`` so that it can also match zero components. (After ``{x/,y}``
    a ``**`` stays a ``*``: doublestar v1.1.1, the version Harbor ships, cannot split braces at ``/``.)
    """
    parts: list[str] = []
    swallow_separator = False
    after_boundary = at_start
    for index, node in enumerate(nodes):
        following = right if index + 1 == len(nodes) else _edge_of(nodes[index + 1])
        if isinstance(node, _Separator):
            if not swallow_separator:
                parts.append("/")
            swallow_separator, after_boundary = False, True
            continue
        if isinstance(node, _Stars) and node.count == 2 and after_boundary and following is not _Edge.OTHER:
            if following is _Edge.END:
                parts.append(".*")
            elif parts and parts[-1] == "/":
                parts[-1] = f"(?:/{_COMPONENT}*)*"
            else:
                parts.append(f"(?:{_COMPONENT}*/)*")
                swallow_separator = True
        elif isinstance(node, _Stars):
            parts.append(f"{_COMPONENT}*")
        elif isinstance(node, _Text):
            parts.append(node.regex)
        elif isinstance(node, _Alternatives):
            options = (_emit(option, at_start=False, right=following) for option in node.options)
            parts.append(f"(?:{'|'.join(options)})")
        after_boundary = False
    return "".join(parts)


def _edge_of(node: _Node) -> _Edge:
    return _Edge.SEPARATOR if isinstance(node, _Separator) else _Edge.OTHER
