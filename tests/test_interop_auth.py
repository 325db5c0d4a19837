"""CDS client authentication without 500s, and a replay memory that is shared, atomic and survives
a cache outage or restart (issue 21.5)."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import jwt
import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from dosing.interop import auth
from dosing.models import UsedToken
from tests import cds_helpers as h
from tests.test_interop import SIGN

pytestmark = pytest.mark.django_db
BODY = h.cds_request(h.medication_request(dose=560), h.prefetch(on_therapy=True))
UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "actemra_site.cache.FailSoftRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1: Redis is down
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }
}


def _trust(settings: Any, jwks: dict[str, Any]) -> None:
    settings.CDS_CLIENTS = [{"iss": h.ISSUER, "jwks": jwks}]
    settings.CDS_ALLOW_UNSIGNED = False


def _post(client: Any, token: str) -> Any:
    return client.post(
        SIGN, BODY, content_type="application/json", headers={"Authorization": f"Bearer {token}"}
    )


def _claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": h.ISSUER, "aud": f"http://testserver{SIGN}", "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())}  # fmt: skip
    claims.update(extra)
    return claims


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_token_whose_alg_does_not_fit_its_key_type_is_a_401(client: Any, settings: Any) -> None:
    ec_private, ec_jwks = h.new_key("ES384")
    rsa_private, _ = h.new_key("RS384")
    _trust(settings, ec_jwks)
    mismatched = jwt.encode(_claims(), rsa_private, algorithm="RS384", headers={"kid": "key-1"})
    response = _post(client, mismatched)
    assert response.status_code == 401
    assert "alg" in response.json()["detail"]
    forged_header = f"{_b64({'alg': 'RS384', 'kid': 'key-1'})}.{_b64(_claims())}.c2ln"
    assert _post(client, forged_header).status_code == 401
    assert _post(client, h.token(ec_private, f"http://testserver{SIGN}")).status_code == 200


def test_a_genuine_rs384_token_without_kid_is_accepted_and_an_es384_key_beside_it_is_not_tried(
    client: Any, settings: Any
) -> None:
    rsa_private, rsa_jwks = h.new_key("RS384")
    _, ec_jwks = h.new_key("ES384")
    ec_jwks["keys"][0]["kid"] = "key-0"
    _trust(settings, {"keys": [*ec_jwks["keys"], *rsa_jwks["keys"]]})
    token = jwt.encode(_claims(), rsa_private, algorithm="RS384")  # no kid
    assert _post(client, token).status_code == 200


@pytest.mark.parametrize(
    "header_claims",
    [
        ({"alg": "none"}, _claims()),
        ({"alg": "ES384", "kid": ["key-1"]}, _claims()),
        ({"alg": "ES384", "kid": "key-1", "jku": 5}, _claims()),
        ({"alg": "ES384", "kid": "key-1"}, {**_claims(), "iss": ["x"]}),
        ({"alg": "ES384", "kid": "key-1"}, {**_claims(), "exp": "soon"}),
        ({"alg": "ES384", "kid": "key-1", "crit": ["b64"]}, _claims()),
    ],
)
def test_every_malformed_token_is_a_401(
    client: Any, settings: Any, header_claims: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    _, jwks = h.new_key("ES384")
    _trust(settings, jwks)
    header, claims = header_claims
    response = _post(client, f"{_b64(header)}.{_b64(claims)}.c2ln")
    assert response.status_code == 401
    assert response.json()["detail"]


@pytest.mark.parametrize("bad", [{"jti": 7}, {"jti": ""}, {"iat": True}])
def test_claims_of_the_wrong_type_are_a_401(client: Any, settings: Any, bad: dict[str, Any]) -> None:  # fmt: skip
    private, jwks = h.new_key("ES384")
    _trust(settings, jwks)
    token = jwt.encode(_claims(**bad), private, algorithm="ES384", headers={"kid": "key-1"})
    assert _post(client, token).status_code == 401


def test_the_replay_memory_is_in_the_database_with_the_tokens_expiry(client: Any, settings: Any) -> None:  # fmt: skip
    private, jwks = h.new_key("ES384")
    _trust(settings, jwks)
    token = h.token(private, f"http://testserver{SIGN}")
    assert _post(client, token).status_code == 200
    row = UsedToken.objects.get()
    assert len(row.key) == 64  # a hash: neither the jti nor the issuer is stored
    assert str(jwt.decode(token, options={"verify_signature": False})["jti"]) not in row.key
    cache.clear()  # a cache restart forgets nothing the replay check needs
    replay = _post(client, token)
    assert replay.status_code == 401
    assert "already used" in replay.json()["detail"]


def test_the_unique_insert_is_the_replay_check() -> None:
    auth.remember(h.ISSUER, "jti-1", time.time() + 60)
    with pytest.raises(auth.AuthError, match="already used"):
        auth.remember(h.ISSUER, "jti-1", time.time() + 60)
    auth.remember("https://other.example.org", "jti-1", time.time() + 60)  # per issuer


def test_with_redis_down_order_sign_answers_and_still_refuses_replays(
    client: Any, settings: Any
) -> None:
    """Redis stopped: every call with a fresh token is answered (once 810 of 813 were refused as
    replays), a replay is still refused, and a token used before the outage stays refused."""
    private, jwks = h.new_key("ES384")
    _trust(settings, jwks)
    before = h.token(private, f"http://testserver{SIGN}")
    assert _post(client, before).status_code == 200
    settings.CACHES = UNREACHABLE_REDIS
    assert not cache.add("probe", 1)  # the cache is really down (FailSoft answers a miss)
    fresh = [h.token(private, f"http://testserver{SIGN}") for _ in range(20)]
    assert [_post(client, t).status_code for t in fresh] == [200] * 20
    assert _post(client, fresh[0]).status_code == 401
    assert _post(client, before).status_code == 401


def test_check_deploy_warns_when_the_replay_memory_is_per_process(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dosing.interop import checks

    memory = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
    assert checks._per_process(memory)
    assert not checks._per_process({"ENGINE": "django.db.backends.sqlite3", "NAME": "/srv/db.sqlite3"})  # fmt: skip
    assert not checks._per_process({"ENGINE": "django.db.backends.postgresql", "NAME": "actemra"})  # fmt: skip
    settings.CDS_ALLOW_UNSIGNED = False
    monkeypatch.setattr(checks, "_per_process", lambda database: True)
    with pytest.raises(SystemCheckError, match="replay memory is per process"):
        call_command("check", "--deploy", "--fail-level", "WARNING", "--tag", "security")


def test_used_tokens_are_not_content() -> None:
    from dosing.models import content_models

    assert UsedToken not in content_models()
    assert not hasattr(UsedToken, "history")
