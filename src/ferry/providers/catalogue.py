"""The provider catalogue: the registry kinds ferry knows, with the endpoint and credential
patterns Harbor's "New Endpoint" form offers (``/replication/adapterinfos``) and what each supports
as a replication source (``/registries/{id}/info``).

Every kind is reached through the OCI distribution API; the kinds differ in URL patterns, path
depth and credentials. Provider-specific behaviour (ACR namespaces, Harbor projects, Docker Hub
rate limits) grows behind this catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ferry.providers.kinds import RegistryType

_ACR_REGIONS = (
    "cn-hangzhou",
    "cn-shanghai",
    "cn-qingdao",
    "cn-beijing",
    "cn-zhangjiakou",
    "cn-huhehaote",
    "cn-wulanchabu",
    "cn-shenzhen",
    "cn-heyuan",
    "cn-guangzhou",
    "cn-chengdu",
    "cn-hongkong",
    "ap-southeast-1",
    "ap-southeast-3",
    "ap-southeast-5",
    "ap-northeast-1",
    "ap-south-1",
    "eu-central-1",
    "eu-west-1",
    "us-west-1",
    "us-east-1",
    "me-east-1",
)

_FREE: dict[str, Any] = {"endpoint_type": "EndpointPatternTypeFree", "endpoints": []}

_ENDPOINT_PATTERNS: dict[RegistryType, dict[str, Any]] = {
    RegistryType.DOCKER_HUB: {
        "endpoint_type": "EndpointPatternTypeFix",
        "endpoints": [{"key": "hub.docker.com", "value": "https://hub.docker.com"}],
    },
    RegistryType.ALI_ACR: {
        "endpoint_type": "EndpointPatternTypeList",
        "endpoints": [
            {"key": region, "value": f"https://registry.{region}.aliyuncs.com"} for region in _ACR_REGIONS
        ],
    },
    RegistryType.GITHUB_GHCR: {
        "endpoint_type": "EndpointPatternTypeFix",
        "endpoints": [{"key": "ghcr.io", "value": "https://ghcr.io"}],
    },
}


def _credentials(key: str, secret: str) -> dict[str, str]:
    """Harbor's ``credential_pattern``: standard fields, with what goes in each."""
    return {
        "access_key_type": "AccessKeyTypeStandard",
        "access_key_data": key,
        "access_secret_type": "AccessSecretTypePass",
        "access_secret_data": secret,
    }


_CREDENTIAL_PATTERNS: dict[RegistryType, dict[str, str]] = {
    RegistryType.ALI_ACR: _credentials(
        "the account name (e.g. example@aliyun.com), or an AccessKey ID (LTAI…)",
        "the fixed password set under Access Credential (访问凭证), or the AccessKey Secret",
    ),
    RegistryType.HARBOR: _credentials("a Harbor user or robot account", "its password or secret"),
    RegistryType.DOCKER_HUB: _credentials(
        "the Docker Hub user name", "its password or a personal access token"
    ),
}

_DESCRIPTIONS: dict[RegistryType, str] = {
    RegistryType.DOCKER_REGISTRY: "any registry speaking the OCI distribution API",
    RegistryType.HARBOR: "a Harbor instance",
    RegistryType.ALI_ACR: (
        "Alibaba Cloud Container Registry: personal crpi-<id>.<region>.personal.cr.aliyuncs.com or "
        "enterprise <name>-registry.<region>.cr.aliyuncs.com; sign in with the account name and the "
        "fixed password"
    ),
    RegistryType.DOCKER_HUB: "Docker Hub",
}


_NAMES: dict[RegistryType, str] = {
    RegistryType.HARBOR: "Harbor",
    RegistryType.DOCKER_HUB: "Docker Hub",
    RegistryType.DOCKER_REGISTRY: "Docker Registry",
    RegistryType.HUAWEI_SWR: "Huawei SWR",
    RegistryType.GOOGLE_GCR: "Google GCR",
    RegistryType.AWS_ECR: "AWS ECR",
    RegistryType.AZURE_ACR: "Azure ACR",
    RegistryType.ALI_ACR: "Alibaba Cloud CR",
    RegistryType.JFROG_ARTIFACTORY: "JFrog Artifactory",
    RegistryType.QUAY: "Quay",
    RegistryType.GITLAB: "GitLab",
    RegistryType.DTR: "DTR",
    RegistryType.TENCENT_TCR: "Tencent TCR",
    RegistryType.GITHUB_GHCR: "GitHub GHCR",
    RegistryType.VOLCENGINE_CR: "VolcEngine CR",
}


@dataclass(frozen=True)
class EndpointChoice:
    """One endpoint a provider's form offers: ``cn-hangzhou`` → ``https://registry.cn-hangzhou...``."""

    key: str
    url: str


def provider_name(kind: RegistryType) -> str:
    """The provider as people name it (the guide's ``Alibaba Cloud CR`` for ``ali-acr``)."""
    return _NAMES.get(kind, kind.value)


def endpoint_choices(kind: RegistryType) -> tuple[EndpointChoice, ...]:
    """The endpoints offered for ``kind``: ACR's regions, Docker Hub's one; none for the rest."""
    endpoints = _ENDPOINT_PATTERNS.get(kind, _FREE)["endpoints"]
    return tuple(EndpointChoice(item["key"], item["value"]) for item in endpoints)


def endpoint_is_fixed(kind: RegistryType) -> bool:
    """Whether ``kind`` has exactly one endpoint (Docker Hub, GHCR), which a form may fill in."""
    return bool(_ENDPOINT_PATTERNS.get(kind, _FREE)["endpoint_type"] == "EndpointPatternTypeFix")


def adapter_types() -> list[str]:
    return [kind.value for kind in RegistryType]


def adapter_infos() -> dict[str, dict[str, Any]]:
    """``{type: {endpoint_pattern, credential_pattern}}`` as Harbor's ``/replication/adapterinfos``."""
    return {
        kind.value: {
            "endpoint_pattern": _ENDPOINT_PATTERNS.get(kind, _FREE),
            "credential_pattern": _CREDENTIAL_PATTERNS.get(kind),
        }
        for kind in RegistryType
    }


def registry_info(kind: RegistryType) -> dict[str, Any]:
    """What a registry offers as a replication source. Every source takes event-based triggers:
    the local registry notifies ferry, and ferry watches a remote one for new or changed tags
    (``domain.watch``)."""
    triggers = ["manual", "scheduled", "event_based"]
    return {
        "type": kind.value,
        "description": _DESCRIPTIONS.get(kind, kind.value),
        "supported_resource_filters": [
            {"type": "name", "style": "input"},
            {"type": "tag", "style": "input"},
            {"type": "label", "style": "input"},
            {"type": "resource", "style": "radio", "values": ["image", "artifact"]},
        ],
        "supported_triggers": triggers,
        "supported_copy_by_chunk": True,
    }
