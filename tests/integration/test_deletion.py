"""What a replicated deletion removes at a real destination registry (distribution 2.8, which
deletes manifests by digest only), and what it keeps because the policy does not own it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from ferry.distribution.client import RegistryClient
from ferry.oci.digest import Digest
from ferry.replication.deletion import delete_reference
from ferry.replication.domain.policy import Decoration, Filter, FilterType, Policy, Trigger, validate_policy
from ferry.replication.domain.status import TriggerType
from ferry.replication.engine.progress import ImageOutcome
from tests.support.blobs import BlobSpec
from tests.support.client import list_tags
from tests.support.images import build_image, build_index, push_image, push_index
from tests.support.registry import RegistryServer

NOW = datetime(2026, 12, 2, tzinfo=UTC)
POLICY = validate_policy(
    Policy(
        id=1,
        name="on-events",
        src_registry_id=0,
        dest_registry_id=1,
        trigger=Trigger(TriggerType.EVENT_BASED),
        deletion=True,
        creation_time=NOW,
        update_time=NOW,
    )
)


def tagged(registry: RegistryServer, *tags: str, seed: int = 1, labels: dict[str, str] | None = None) -> str:
    image = build_image([BlobSpec(500, seed=seed)], labels=labels or {})
    digest = ""
    for tag in tags:
        digest = push_image(registry, "mirror/web", tag, image)
    return digest


async def delete(
    registry: RegistryServer, reference: str, policy: Policy = POLICY
) -> tuple[ImageOutcome, str]:
    async with RegistryClient(registry.host) as client:
        deletion = await delete_reference(client, policy, "mirror/web", reference)
    return deletion.outcome, deletion.message


async def test_a_manifest_is_deleted_by_digest_with_its_tags(registry: RegistryServer) -> None:
    digest = tagged(registry, "v1", "latest")
    tagged(registry, "v2", seed=2)

    outcome, message = await delete(registry, digest)

    assert outcome is ImageOutcome.DELETED
    assert message == f"deleted mirror/web@{digest} (tags latest, v1)"
    assert list_tags(registry, "mirror/web") == ["v2"]


async def test_a_manifest_with_a_tag_outside_the_tag_filter_is_kept(registry: RegistryServer) -> None:
    digest = tagged(registry, "v1", "dev")
    policy = replace(POLICY, filters=(Filter(FilterType.TAG, "v*"),))

    outcome, message = await delete(registry, digest, policy)

    assert outcome is ImageOutcome.UP_TO_DATE
    assert "it is also tagged dev there, outside the rule's tag filters" in message
    assert sorted(list_tags(registry, "mirror/web")) == ["dev", "v1"]


async def test_a_manifest_without_the_labels_of_a_label_filter_is_kept(registry: RegistryServer) -> None:
    digest = tagged(registry, "v1", labels={"team": "web"})
    policy = replace(POLICY, filters=(Filter(FilterType.LABEL, ("production",), Decoration.MATCHES),))

    outcome, message = await delete(registry, digest, policy)

    assert outcome is ImageOutcome.UP_TO_DATE
    assert "outside the rule's filters" in message
    assert list_tags(registry, "mirror/web") == ["v1"]


async def test_a_deleted_tag_that_is_the_only_tag_deletes_its_manifest(registry: RegistryServer) -> None:
    digest = tagged(registry, "v1")
    tagged(registry, "v2", seed=2)

    outcome, message = await delete(registry, "v1")

    assert outcome is ImageOutcome.DELETED
    assert message.startswith("deleted mirror/web:v1: it was the only tag of sha256:")
    assert list_tags(registry, "mirror/web") == ["v2"]
    assert (await delete(registry, digest))[0] is ImageOutcome.UP_TO_DATE


async def test_a_deleted_tag_sharing_its_manifest_is_kept_where_tags_cannot_be_deleted(
    registry: RegistryServer,
) -> None:
    tagged(registry, "v1", "latest")

    outcome, message = await delete(registry, "latest")

    assert outcome is ImageOutcome.UP_TO_DATE
    assert "the registry cannot delete a tag alone (HTTP 400" in message
    assert "is also tagged v1 there" in message
    assert sorted(list_tags(registry, "mirror/web")) == ["latest", "v1"]


async def test_what_is_not_at_the_destination_is_nothing_to_do(registry: RegistryServer) -> None:
    tagged(registry, "v1")
    missing = str(Digest.of(b"never pushed"))

    for reference in (missing, "v9"):
        outcome, message = await delete(registry, reference)
        assert outcome is ImageOutcome.UP_TO_DATE
        assert message.endswith("is not at the destination: nothing to delete")
    assert list_tags(registry, "mirror/web") == ["v1"]


async def test_an_image_that_an_index_lists_is_never_deleted_by_digest(registry: RegistryServer) -> None:
    amd64, arm64 = (
        build_image([BlobSpec(500, seed=7)]),
        build_image([BlobSpec(500, seed=8)], architecture="arm64"),
    )
    push_index(registry, "mirror/web", "multi", build_index([amd64, arm64], oci=False))
    push_image(registry, "mirror/web", "amd64", amd64)

    by_digest = await delete(registry, amd64.digest)
    by_tag = await delete(registry, "amd64")

    assert by_digest == (
        ImageOutcome.UP_TO_DATE,
        f"kept mirror/web@{amd64.digest}: it is an image of the index tagged multi there",
    )
    assert by_tag[0] is ImageOutcome.UP_TO_DATE
    assert by_tag[1].endswith("and it is an image of the index tagged multi there")
    assert sorted(list_tags(registry, "mirror/web")) == ["amd64", "multi"]
