"""The words the browser tests look for on ferry's pages, per language, in one place.

They are Harbor's (the guide tells its readers to click ``NEW ENDPOINT``, ``TEST CONNECTION``,
``NEW REPLICATION RULE``, ``REPLICATE``), in English and in Harbor's own zh-CN wording, so a user
who knows Harbor's screens finds the same words on ferry's. When ferry's UI settles on a different
word, change it here and nowhere else.

Tests match them with :func:`named`: the label or name begins with the word, in any case
(``TEST CONNECTION`` and ``Test connection`` both match). Statuses are
patterns: the zh-CN guide itself writes the English status names (`Succeed`：同步成功), so either
form counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Locale = Literal["en-US", "zh-CN"]
LOCALES: tuple[Locale, ...] = ("en-US", "zh-CN")


@dataclass(frozen=True)
class Words:
    # the sign-in form (/ui/login)
    username: str
    password: str
    sign_in: str
    # navigation
    registries: str
    replications: str
    # a registry endpoint (Administration → Registries → NEW ENDPOINT)
    new_endpoint: str
    provider: str
    endpoint_name: str
    endpoint_url: str
    access_id: str
    access_secret: str
    test_connection: str
    connection_ok: str
    ok: str
    # a replication rule (Administration → Replications → NEW REPLICATION RULE)
    new_rule: str
    rule_name: str
    destination_registry: str
    destination_namespace: str
    resource_filter: str  # the legend of the fieldset holding the name and tag filters
    name_filter: str
    tag_filter: str
    save: str
    # running it
    replicate: str
    stop: str
    logs: str
    succeed: re.Pattern[str]
    in_progress: re.Pattern[str]
    stopped: re.Pattern[str]


WORDS: dict[Locale, Words] = {
    "en-US": Words(
        username="Username",
        password="Password",
        sign_in="Sign in",
        registries="Registries",
        replications="Replications",
        new_endpoint="New endpoint",
        provider="Provider",
        endpoint_name="Name",
        endpoint_url="Endpoint URL",
        access_id="Access ID",
        access_secret="Access Secret",
        test_connection="Test connection",
        connection_ok="Connection tested successfully",
        ok="OK",
        new_rule="New replication rule",
        rule_name="Name",
        destination_registry="Destination registry",
        destination_namespace="Destination namespace",
        resource_filter="Source resource filter",
        name_filter="Name",
        tag_filter="Tag",
        save="Save",
        replicate="Replicate",
        stop="Stop",
        logs="Logs",
        succeed=re.compile("Succeed"),
        in_progress=re.compile("In ?Progress", re.IGNORECASE),
        stopped=re.compile("Stopped"),
    ),
    "zh-CN": Words(
        username="用户名",
        password="密码",
        sign_in="登录",
        registries="仓库管理",
        replications="复制管理",
        new_endpoint="新建目标",
        provider="提供者",
        endpoint_name="目标名",
        endpoint_url="目标URL",
        access_id="访问ID",
        access_secret="访问密码",
        test_connection="测试连接",
        connection_ok="测试连接成功",
        ok="确定",
        new_rule="新建规则",
        rule_name="名称",
        destination_registry="目的Registry",
        destination_namespace="目的Namespace",
        resource_filter="源资源过滤器",
        name_filter="名称",
        tag_filter="Tag",
        save="保存",
        replicate="复制",
        stop="停止",
        logs="日志",
        succeed=re.compile("Succeed|成功"),
        in_progress=re.compile("In ?Progress|进行中", re.IGNORECASE),
        stopped=re.compile("Stopped|已停止"),
    ),
}


def named(word: str) -> re.Pattern[str]:
    """A label or accessible name that begins with ``word``, in any case: ``Test connection`` finds
    ``TEST CONNECTION``, ``Password`` finds ``Password or API token``, ``密码`` finds ``密码或 API 令牌``
    but not ``访问密码``, and ``Name`` does not find ``Namespace`` (a Latin word must end where the
    word ends; Chinese has no spaces to tell). Only the start is anchored, since a label that wraps
    its field takes in the field's value (``Provider Docker Registry``)."""
    return re.compile(rf"^\s*{re.escape(word)}(?![A-Za-z0-9])", re.IGNORECASE)
