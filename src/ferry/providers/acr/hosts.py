"""Which ACR an endpoint is: edition, region and instance, from its host name or its auth challenge.

Host names (Alibaba Cloud documentation):

- personal, new instances: ``crpi-<id>.<region>.personal.cr.aliyuncs.com`` (``crpi-<id>-vpc.`` in a VPC);
- personal, legacy: ``registry[-vpc|-internal|-intl].<region>.aliyuncs.com``;
- enterprise: ``<instance name>-registry[-vpc].<region>.cr.aliyuncs.com`` (or a custom domain).

The registry's Bearer challenge names the service ``registry.aliyuncs.com:<region>:26842``
(personal) or ``registry.aliyuncs.com:<region>:china:cri-<instance>`` (enterprise): its last part
starting with ``cri-`` is the enterprise instance id. The realm is often the cn-hangzhou host
whatever the region, so it is never used to tell the region.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum

ACR_DISPLAY_NAME = "Alibaba Cloud CR"
"""The provider as Harbor's form and the guide name it."""


class Edition(StrEnum):
    PERSONAL = "personal"
    ENTERPRISE = "enterprise"


@dataclass(frozen=True)
class AcrInstance:
    edition: Edition | None = None
    region: str | None = None
    instance_id: str | None = None
    vpc: bool = False

    def merged(self, other: AcrInstance | None) -> AcrInstance:
        """This description with the gaps filled from ``other``."""
        if other is None:
            return self
        return replace(
            self,
            edition=self.edition or other.edition,
            region=self.region or other.region,
            instance_id=self.instance_id or other.instance_id,
            vpc=self.vpc or other.vpc,
        )


_REGION = r"(?P<region>[a-z]{2}(?:-[a-z0-9]+)+)"
_PERSONAL = re.compile(rf"^crpi-[a-z0-9]+(?P<vpc>-vpc)?\.{_REGION}\.personal\.cr\.aliyuncs\.com$")
_LEGACY = re.compile(rf"^registry(?P<variant>-vpc|-internal|-intl)?\.{_REGION}\.aliyuncs\.com$")
_ENTERPRISE = re.compile(rf"^[a-z0-9][a-z0-9-]*-registry(?P<vpc>-vpc)?\.{_REGION}\.cr\.aliyuncs\.com$")


def recognise_host(host: str) -> AcrInstance | None:
    """What an ACR host name tells (port ignored); None for a host that is not ACR's."""
    name = host.lower().rsplit(":", 1)[0] if host.count(":") == 1 else host.lower()
    if match := _PERSONAL.match(name):
        return AcrInstance(Edition.PERSONAL, match["region"], vpc=bool(match["vpc"]))
    if match := _LEGACY.match(name):
        variant = match["variant"] or ""
        return AcrInstance(Edition.PERSONAL, match["region"], vpc=variant in {"-vpc", "-internal"})
    if match := _ENTERPRISE.match(name):
        return AcrInstance(Edition.ENTERPRISE, match["region"], vpc=bool(match["vpc"]))
    return None


def read_service(service: str | None) -> AcrInstance | None:
    """What the challenge's ``service`` tells; None when it is not ACR's."""
    if not service or not service.startswith("registry.aliyuncs.com:"):
        return None
    parts = service.split(":")
    region = parts[1] if len(parts) > 1 and re.fullmatch(_REGION, parts[1]) else None
    instance = next((part for part in reversed(parts) if part.startswith("cri-")), None)
    if instance is not None:
        return AcrInstance(Edition.ENTERPRISE, region, instance)
    return AcrInstance(Edition.PERSONAL, region)


def openapi_url(region: str, *, vpc: bool = False) -> str:
    """The OpenAPI endpoint of a region (``cr-vpc.`` inside a VPC)."""
    return f"https://cr{'-vpc' if vpc else ''}.{region}.aliyuncs.com"


ACCESS_KEY_ID = re.compile(r"^(?:LTAI[0-9A-Za-z]{8,40}|STS\.[0-9A-Za-z]{8,80})$")
"""Alibaba Cloud AccessKey IDs start with ``LTAI`` (``STS.`` for temporary ones); account names and
RAM user names never look like that."""


def is_access_key_id(text: str) -> bool:
    return bool(ACCESS_KEY_ID.match(text))
