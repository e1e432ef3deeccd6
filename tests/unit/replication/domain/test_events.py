"""Parsing what the distribution registry and Harbor send: which events ferry acts on, their
repository, tag and digest, the source they name, and keys that survive a redelivery."""

from __future__ import annotations

from typing import Any

import pytest

from ferry.errors import InvalidInput
from ferry.replication.domain.events import (
    EventAction,
    EventSender,
    normalize_source_host,
    parse_harbor_webhook,
    parse_registry_envelope,
    resource_host,
)

from .builders import digest

DIGEST = str(digest("web"))
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def registry_event(action: str = "push", **target: Any) -> dict[str, Any]:
    """One event as distribution 2.8 sends it (the shape recorded from a real registry)."""
    return {
        "id": f"id-{action}-{target.get('tag') or target.get('digest')}",
        "timestamp": "2026-12-02T15:48:11.820951177Z",
        "action": action,
        "target": {"repository": "library/web", **target},
        "request": {"id": "r", "addr": "127.0.0.1:57500", "host": "127.0.0.1:5000", "method": "PUT"},
        "actor": {},
        "source": {"addr": "vm:5000", "instanceID": "6842e976"},
    }


def test_a_tagged_manifest_push_is_a_push_of_that_tag_from_the_local_registry() -> None:
    pushed = registry_event(mediaType=DOCKER_MANIFEST, tag="v1", digest=DIGEST, size=528)

    parsed = parse_registry_envelope({"events": [pushed]}, registry_id=0)

    [event] = parsed.events
    assert (event.action, event.repository, event.tag, str(event.digest)) == (
        "push",
        "library/web",
        "v1",
        DIGEST,
    )
    assert (event.sender, event.registry_id, event.source_host) == (EventSender.REGISTRY, 0, None)
    assert event.key == f"registry:{pushed['id']}"
    assert parsed.ignored == []


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (registry_event("pull", mediaType=DOCKER_MANIFEST, tag="v1", digest=DIGEST), "action 'pull'"),
        (registry_event("mount", mediaType="application/octet-stream", digest=DIGEST), "action 'mount'"),
        (registry_event(mediaType="application/octet-stream", digest=DIGEST), "not a manifest"),
        (registry_event(mediaType=DOCKER_MANIFEST, digest=DIGEST), "push by digest"),
    ],
    ids=["pull", "mount", "blob push", "untagged push"],
)
def test_events_ferry_does_not_act_on_are_dropped_with_the_reason(event: dict[str, Any], reason: str) -> None:
    parsed = parse_registry_envelope({"events": [event]}, registry_id=0)

    assert parsed.events == []
    [why] = parsed.ignored
    assert reason in why


def test_a_manifest_deletion_names_the_digest_and_a_tag_deletion_the_tag() -> None:
    envelope = {
        "events": [registry_event("delete", digest=DIGEST), registry_event("delete", tag="latest")],
    }

    by_digest, by_tag = parse_registry_envelope(envelope, registry_id=0).events

    assert (by_digest.action, by_digest.tag, str(by_digest.digest)) == (EventAction.DELETE, None, DIGEST)
    assert (by_tag.action, by_tag.tag, by_tag.digest) == (EventAction.DELETE, "latest", None)


def test_a_broken_event_is_skipped_and_the_others_kept() -> None:
    envelope = {
        "events": [
            registry_event(mediaType=DOCKER_MANIFEST, tag="v1", repository="Not/Valid"),
            {"action": "push"},
            registry_event(mediaType=DOCKER_MANIFEST, tag="v2", digest=DIGEST),
        ]
    }

    parsed = parse_registry_envelope(envelope, registry_id=0)

    assert [event.tag for event in parsed.events] == ["v2"]
    assert len(parsed.ignored) == 2
    assert "invalid repository name 'Not/Valid'" in parsed.ignored[0]


@pytest.mark.parametrize("document", [[], {"events": "x"}, {"nothing": []}, "events"])
def test_a_body_that_is_not_an_envelope_is_invalid_input(document: object) -> None:
    with pytest.raises(InvalidInput, match="not a registry notification envelope"):
        parse_registry_envelope(document, registry_id=0)


def harbor_default(
    kind: str = "PUSH_ARTIFACT", *, tag: str = "latest", occur_at: int = 1586922308
) -> dict[str, Any]:
    """Harbor's Default payload, as its documentation shows it."""
    return {
        "type": kind,
        "occur_at": occur_at,
        "operator": "admin",
        "event_data": {
            "resources": [
                {"digest": DIGEST, "tag": tag, "resource_url": f"hub.harbor.com/test-webhook/debian:{tag}"}
            ],
            "repository": {
                "date_created": 1586922308,
                "name": "debian",
                "namespace": "test-webhook",
                "repo_full_name": "test-webhook/debian",
                "repo_type": "private",
            },
        },
    }


def harbor_cloudevent(kind: str = "harbor.artifact.pushed", *, tag: str = "latest") -> dict[str, Any]:
    """The same event in Harbor's CloudEvents format (a fresh id at every delivery)."""
    default = harbor_default(tag=tag)
    return {
        "specversion": "1.0",
        "id": "66e18103-09c1-41f6-982f-37df223f3eeb",
        "requestid": "51c0b694-0168-4f3c-b0db-282565455d7b",
        "source": "/projects/2/webhook/policies/15",
        "type": kind,
        "datacontenttype": "application/json",
        "time": "2020-04-15T03:45:08Z",
        "data": default["event_data"],
        "operator": "admin",
    }


def test_a_harbor_push_names_repository_tag_digest_and_the_harbor_host() -> None:
    [event] = parse_harbor_webhook(harbor_default()).events

    assert (event.action, event.repository, event.tag, str(event.digest)) == (
        "push",
        "test-webhook/debian",
        "latest",
        DIGEST,
    )
    assert (event.sender, event.source_host, event.registry_id) == (
        EventSender.HARBOR,
        "hub.harbor.com",
        None,
    )


def test_the_cloudevents_format_gives_the_same_event_with_the_same_key() -> None:
    [default] = parse_harbor_webhook(harbor_default()).events
    [cloud] = parse_harbor_webhook(harbor_cloudevent()).events

    assert cloud == default


def test_harbor_keys_differ_by_time_tag_and_action() -> None:
    keys = {
        parse_harbor_webhook(document).events[0].key
        for document in (
            harbor_default(),
            harbor_default(occur_at=1586922309),
            harbor_default(tag="v2"),
            harbor_default("DELETE_ARTIFACT"),
        )
    }
    assert len(keys) == 4


def test_a_harbor_deletion_deletes_the_artifact_by_digest() -> None:
    for document in (harbor_default("DELETE_ARTIFACT"), harbor_cloudevent("harbor.artifact.deleted")):
        [event] = parse_harbor_webhook(document).events
        assert (event.action, event.tag, str(event.digest)) == ("delete", None, DIGEST)


def test_a_harbor_push_by_digest_is_dropped() -> None:
    # Harbor puts the digest in "tag" when the artifact has no tag.
    parsed = parse_harbor_webhook(harbor_default(tag=DIGEST))

    assert parsed.events == []
    assert "push by digest" in parsed.ignored[0]


@pytest.mark.parametrize(
    "kind", ["PULL_ARTIFACT", "SCANNING_COMPLETED", "harbor.artifact.pulled", "REPLICATION"]
)
def test_other_harbor_event_types_are_ignored(kind: str) -> None:
    parsed = parse_harbor_webhook(harbor_default(kind))

    assert parsed.events == []
    assert kind in parsed.ignored[0]


def test_a_harbor_payload_without_resources_is_invalid() -> None:
    document = harbor_default()
    document["event_data"]["resources"] = []

    with pytest.raises(InvalidInput, match="lists no resources"):
        parse_harbor_webhook(document)


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("hub.harbor.com/library/app:v1", "hub.harbor.com"),
        ("https://Harbor.Example.com:443/library/app@sha256:abc", "harbor.example.com"),
        ("harbor.example.com:8443/p/app:v1", "harbor.example.com:8443"),
        ("", None),
        (None, None),
    ],
)
def test_the_source_host_comes_from_the_resource_url(url: object, host: str | None) -> None:
    assert resource_host(url) == host


def test_a_registry_url_host_loses_only_its_schemes_default_port() -> None:
    assert normalize_source_host("harbor.example.com:443", scheme="https") == "harbor.example.com"
    assert normalize_source_host("harbor.example.com:443", scheme="http") == "harbor.example.com:443"
    assert normalize_source_host("127.0.0.1:5000", scheme="http") == "127.0.0.1:5000"
