from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ferry.errors import InvalidInput
from ferry.replication.domain.labels import NO_LABELS, ArtifactLabels, LabelEntry, keep_by_labels

PRODUCTION_IMAGE = ArtifactLabels.of(
    config={"tier": "production", "maintainer": "ops"},
    annotations={"org.opencontainers.image.version": "1.4.0"},
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("production", LabelEntry("production")),
        (" production ", LabelEntry("production")),
        ("tier=production", LabelEntry("tier", "production")),
        ("tier = production", LabelEntry("tier", "production")),
        ("tier=", LabelEntry("tier", "")),
        ("url=http://x/?a=b", LabelEntry("url", "http://x/?a=b")),
    ],
)
def test_entries_split_at_the_first_equals_sign(text: str, expected: LabelEntry) -> None:
    assert LabelEntry.parse(text) == expected


@pytest.mark.parametrize("text", ["", "  ", "=production", " = x"])
def test_an_entry_without_a_name_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="has no name") as caught:
        LabelEntry.parse(text)
    assert "key=value" in (caught.value.hint or "")


@pytest.mark.parametrize("text", ["production", "tier=production", "tier="])
def test_entries_print_as_written(text: str) -> None:
    assert str(LabelEntry.parse(text)) == text


def test_a_bare_entry_matches_a_harbor_label_by_name() -> None:
    assert keep_by_labels(["production"], ArtifactLabels.of(harbor=["production", "qa"]))
    assert not keep_by_labels(["production"], ArtifactLabels.of(harbor=["prod"]))


def test_a_bare_entry_matches_a_config_label_or_annotation_key_whatever_its_value() -> None:
    assert keep_by_labels(["production"], ArtifactLabels.of(config={"production": "false"}))
    assert keep_by_labels(["production"], ArtifactLabels.of(annotations={"production": ""}))
    assert keep_by_labels(["tier"], PRODUCTION_IMAGE)


def test_a_bare_entry_does_not_match_a_value() -> None:
    assert not keep_by_labels(["production"], PRODUCTION_IMAGE)


def test_key_value_matches_key_and_value_in_config_or_annotations() -> None:
    assert keep_by_labels(["tier=production"], PRODUCTION_IMAGE)
    assert keep_by_labels(["org.opencontainers.image.version=1.4.0"], PRODUCTION_IMAGE)
    assert not keep_by_labels(["tier=staging"], PRODUCTION_IMAGE)
    assert not keep_by_labels(["stage=production"], PRODUCTION_IMAGE)


def test_key_value_matches_a_harbor_label_named_exactly_so() -> None:
    assert keep_by_labels(["tier=production"], ArtifactLabels.of(harbor=["tier=production"]))
    assert not keep_by_labels(["tier=production"], ArtifactLabels.of(harbor=["tier"]))


def test_matching_is_case_sensitive() -> None:
    assert not keep_by_labels(["Production"], ArtifactLabels.of(harbor=["production"]))
    assert not keep_by_labels(["tier=Production"], PRODUCTION_IMAGE)


def test_matches_requires_every_entry() -> None:
    assert keep_by_labels(["tier=production", "maintainer"], PRODUCTION_IMAGE)
    assert not keep_by_labels(["tier=production", "gpu"], PRODUCTION_IMAGE)


def test_excludes_drops_only_artifacts_carrying_every_entry() -> None:
    assert not keep_by_labels(["tier=production", "maintainer"], PRODUCTION_IMAGE, excludes=True)
    assert keep_by_labels(["tier=production", "gpu"], PRODUCTION_IMAGE, excludes=True)
    assert keep_by_labels(["production"], NO_LABELS, excludes=True)


def test_no_entries_filter_nothing() -> None:
    assert keep_by_labels([], NO_LABELS)
    assert keep_by_labels([], PRODUCTION_IMAGE, excludes=True)


def test_unlabelled_artifacts_never_match() -> None:
    assert not keep_by_labels(["production"], NO_LABELS)


def test_artifact_labels_are_hashable_values() -> None:
    same = ArtifactLabels.of(config={"maintainer": "ops", "tier": "production"}, annotations=None)
    assert same != PRODUCTION_IMAGE
    assert hash(ArtifactLabels.of(harbor=["a", "b"])) == hash(ArtifactLabels.of(harbor=["b", "a"]))


keys = st.text(alphabet="abcdefgh.-", min_size=1, max_size=6)
pairs = st.dictionaries(keys, st.text(alphabet="xyz", max_size=3), max_size=5)
entries = st.lists(
    st.one_of(keys, st.builds(lambda k, v: f"{k}={v}", keys, st.text(alphabet="xyz"))), max_size=4
)


@given(entries, pairs, pairs)
def test_matches_and_excludes_are_complements(
    chosen: list[str], config: dict[str, str], notes: dict[str, str]
) -> None:
    labels = ArtifactLabels.of(config=config, annotations=notes)
    if chosen:
        assert keep_by_labels(chosen, labels) != keep_by_labels(chosen, labels, excludes=True)


@given(entries, entries, pairs)
def test_more_entries_never_match_more_artifacts(
    first: list[str], more: list[str], config: dict[str, str]
) -> None:
    labels = ArtifactLabels.of(config=config)
    if keep_by_labels([*first, *more], labels):
        assert keep_by_labels(first, labels)


@given(pairs)
def test_every_label_an_image_carries_matches_as_key_and_as_key_value(config: dict[str, str]) -> None:
    labels = ArtifactLabels.of(config=config)
    assert keep_by_labels(list(config), labels)
    assert keep_by_labels([f"{key}={value}" for key, value in config.items()], labels)
