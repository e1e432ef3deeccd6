"""The registry kinds ferry knows, spelled as Harbor's API spells its provider ("adapter") types,
and the repository path depth each kind accepts."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RegistryType(StrEnum):
    """Harbor's provider ("adapter") type strings, spelled exactly as its API spells them."""

    HARBOR = "harbor"
    DOCKER_HUB = "docker-hub"
    DOCKER_REGISTRY = "docker-registry"
    HUAWEI_SWR = "huawei-SWR"
    GOOGLE_GCR = "google-gcr"
    AWS_ECR = "aws-ecr"
    AZURE_ACR = "azure-acr"
    ALI_ACR = "ali-acr"
    JFROG_ARTIFACTORY = "jfrog-artifactory"
    QUAY = "quay"
    GITLAB = "gitlab"
    DTR = "dtr"
    TENCENT_TCR = "tencent-tcr"
    GITHUB_GHCR = "github-ghcr"
    VOLCENGINE_CR = "volcengine-cr"


@dataclass(frozen=True)
class PathDepth:
    """How many path components a registry kind accepts in a repository name."""

    exact: int | None = None
    minimum: int | None = None


_PATH_DEPTHS = {
    RegistryType.DOCKER_HUB: PathDepth(exact=2),
    RegistryType.ALI_ACR: PathDepth(exact=2),
    RegistryType.HARBOR: PathDepth(minimum=2),
}


def path_depth(registry_type: RegistryType) -> PathDepth | None:
    """Docker Hub and Alibaba ACR take exactly ``namespace/repo``; Harbor needs ``project/...``."""
    return _PATH_DEPTHS.get(registry_type)
