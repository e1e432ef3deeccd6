"""``/replication/policies``: replication rules. PUT replaces the whole rule, as in Harbor."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from ferry.api.context import Context, SignedIn
from ferry.api.listing import Page, PageSize, QText, SortText, list_query, page_response
from ferry.api.query import FieldKind
from ferry.api.responses import ReplicationPolicy, created, done, error_responses, listed
from ferry.api.schemas import IdPath, PolicyBody
from ferry.api.views import local_registry_json, policy_json, registry_json
from ferry.replication.domain.fields import InvalidField
from ferry.replication.domain.policy import Policy
from ferry.replication.domain.registry import LOCAL_REGISTRY_ID
from ferry.services import Services

router = APIRouter(tags=["replication"])

FIELDS = {
    "id": FieldKind.INTEGER,
    "name": FieldKind.STRING,
    "description": FieldKind.STRING,
    "creator": FieldKind.STRING,
    "enabled": FieldKind.BOOLEAN,
    "override": FieldKind.BOOLEAN,
    "deletion": FieldKind.BOOLEAN,
    "dest_namespace": FieldKind.STRING,
    "creation_time": FieldKind.TIME,
    "update_time": FieldKind.TIME,
}


async def registries_json(context: Services) -> dict[int, dict[str, Any]]:
    shown = {item.id: registry_json(item) for item in await context.store.registries.list_registries()}
    shown[LOCAL_REGISTRY_ID] = local_registry_json(context.local_registry)
    return shown


@router.get(
    "/replication/policies",
    summary="List replication rules",
    response_model=list[ReplicationPolicy],
    responses={**listed("replication rules"), **error_responses(400)},
)
async def list_policies(
    request: Request,
    context: Context,
    principal: SignedIn,
    q: QText = None,
    sort: SortText = None,
    page: Page = None,
    page_size: PageSize = None,
    name: str | None = None,
) -> JSONResponse:
    query = list_query(q, sort, page, page_size, FIELDS)
    registries = await registries_json(context)
    now = context.clock()
    items = [
        policy_json(policy, registries, now=now)
        for policy in await context.store.policies.list_policies()
        if name is None or name in policy.name
    ]
    return page_response(request, items, query)


@router.post(
    "/replication/policies",
    status_code=201,
    summary="Create a replication rule",
    response_class=Response,
    responses={**created("Rule"), **error_responses(400, 409)},
)
async def create_policy(body: PolicyBody, context: Context, principal: SignedIn) -> Response:
    policy = _checked(context, body.to_policy(creator=principal.name, now=context.clock()))
    created = await context.store.policies.add(policy)
    return Response(status_code=201, headers={"Location": f"/api/v2.0/replication/policies/{created.id}"})


@router.get(
    "/replication/policies/{id}",
    summary="Get a replication rule",
    response_model=ReplicationPolicy,
    responses=error_responses(400, 404),
)
async def get_policy(id: IdPath, context: Context, principal: SignedIn) -> JSONResponse:
    policy = await context.store.policies.get(id)
    return JSONResponse(policy_json(policy, await registries_json(context), now=context.clock()))


@router.put(
    "/replication/policies/{id}",
    summary="Replace a replication rule",
    response_class=Response,
    responses={**done("Replaced"), **error_responses(400, 404, 409)},
)
async def update_policy(id: IdPath, body: PolicyBody, context: Context, principal: SignedIn) -> Response:
    stored = await context.store.policies.get(id)
    given = body.to_policy(creator=stored.creator, now=context.clock())
    await context.store.policies.update(
        _checked(context, replace(given, id=id, creation_time=stored.creation_time))
    )
    return Response(status_code=200)


@router.delete(
    "/replication/policies/{id}",
    summary="Delete a replication rule without a running execution",
    response_class=Response,
    responses={**done("Deleted"), **error_responses(400, 404, 412)},
)
async def delete_policy(id: IdPath, context: Context, principal: SignedIn) -> Response:
    await context.store.policies.delete(id)
    return Response(status_code=200)


def _checked(context: Services, policy: Policy) -> Policy:
    if context.local_registry is None:
        for field, registry_id in (
            ("src_registry", policy.src_registry_id),
            ("dest_registry", policy.dest_registry_id),
        ):
            if registry_id == LOCAL_REGISTRY_ID:
                raise InvalidField(
                    f"{field}.id",
                    "is 0, the local registry, but this ferry runs without one",
                    hint="choose a registry endpoint, or restart ferry serve with a local registry "
                    "(the default, or --local-registry URL)",
                )
    return policy
