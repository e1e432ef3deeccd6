from __future__ import annotations

from ferry.distribution.challenge import covers, merge_scopes, parse_challenge


def test_bearer_challenge_yields_realm_service_and_scopes() -> None:
    challenge = parse_challenge(
        'Bearer realm="https://auth.example.com/token",service="registry.example.com",'
        'scope="repository:library/app:pull,push repository:other:pull"'
    )
    assert challenge is not None
    assert challenge.scheme == "bearer"
    assert challenge.realm == "https://auth.example.com/token"
    assert challenge.service == "registry.example.com"
    assert challenge.scopes == ("repository:library/app:pull,push", "repository:other:pull")


def test_basic_challenge_and_unquoted_values() -> None:
    challenge = parse_challenge("Basic realm=basic-realm")
    assert challenge is not None
    assert (challenge.scheme, challenge.realm) == ("basic", "basic-realm")


def test_escaped_quotes_and_error_parameter() -> None:
    challenge = parse_challenge('Bearer realm="https://a/t",error="insufficient_scope",detail="say \\"hi\\""')
    assert challenge is not None
    assert challenge.params["error"] == "insufficient_scope"
    assert challenge.params["detail"] == 'say "hi"'


def test_missing_header_is_no_challenge() -> None:
    assert parse_challenge(None) is None
    assert parse_challenge("") is None


def test_merge_scopes_unions_actions_per_resource() -> None:
    merged = merge_scopes(("repository:a:pull",), ("repository:a:push", "repository:b:pull"))
    assert merged == ("repository:a:pull,push", "repository:b:pull")


def test_covers_checks_every_needed_action() -> None:
    granted = ("repository:a:pull,push", "registry:catalog:*")
    assert covers(granted, ("repository:a:pull",))
    assert covers(granted, ("registry:catalog:search",))
    assert not covers(granted, ("repository:a:delete",))
    assert not covers(granted, ("repository:b:pull",))
