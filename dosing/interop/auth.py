"""CDS Hooks client authentication: the EHR's signed JWT (CDS Hooks 2.0, "Trusting CDS Clients").

Keys of trusted clients are configured locally (settings.CDS_CLIENTS, from the JSON file named by
DJANGO_CDS_CLIENTS_FILE): nothing is fetched from a `jku` URL. A token must be signed by a key of
its issuer's JWK Set, name this service endpoint as `aud`, carry iss, exp, iat and jti, live at
most five minutes, and never be replayed (its jti is remembered until it expires).
"""

from __future__ import annotations

import binascii
import functools
import json
import time
from typing import Any

import jwt
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from jwt.utils import base64url_decode

ALGORITHMS = ["ES384", "RS384"]  # the two the specification asks services to support
LEEWAY_SECONDS = 30
MAX_LIFETIME_SECONDS = 300


class AuthError(Exception):
    """Why a request is refused; the message is safe to return (it names no key material)."""


def _client(issuer: Any) -> dict[str, Any]:
    for client in settings.CDS_CLIENTS:
        if client.get("iss") == issuer:
            return client
    raise AuthError("The token's issuer (iss) is not a trusted CDS client.")


def _keys(client: dict[str, Any], header: dict[str, Any]) -> list[Any]:
    if "jku" in header and header["jku"] != client.get("jku"):
        raise AuthError("The token's jku is not the one configured for this client.")
    keys = _key_set(json.dumps(client["jwks"], sort_keys=True))
    kid = header.get("kid")
    chosen = [k for k in keys if kid is None or k.key_id == kid]
    if not chosen:
        raise AuthError("No configured key matches the token's kid.")
    return chosen


@functools.lru_cache(maxsize=32)
def _key_set(jwks: str) -> list[Any]:
    """Parsed once per configured JWK Set (the configuration is fixed for the process)."""
    return list(jwt.PyJWKSet.from_json(jwks).keys)


def _peek(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims, NOT verified: only to choose the issuer's keys (jwt.decode below
    verifies everything). Read directly, as PyJWT's unverified decode costs as much as a verified
    one."""
    try:
        header, payload, _signature = token.split(".")
        found = json.loads(base64url_decode(header)), json.loads(base64url_decode(payload))
    except (ValueError, binascii.Error):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise AuthError("The token is malformed: not a JWS compact serialization.") from None
    if not all(isinstance(part, dict) for part in found):
        raise AuthError("The token is malformed: header and claims must be JSON objects.")
    return found


def verify(request: HttpRequest, audience: str) -> None:
    """Raises AuthError unless the request carries a valid JWT of a trusted client."""
    if settings.CDS_ALLOW_UNSIGNED:
        return  # development and tests only: check --deploy warns about it
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise AuthError("A signed JWT is required (Authorization: Bearer <JWT>).")
    header, unverified = _peek(token)
    client = _client(unverified.get("iss"))
    claims = None
    for key in _keys(client, header):
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=ALGORITHMS,
                audience=audience,
                issuer=client["iss"],
                leeway=LEEWAY_SECONDS,
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            )
            break
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError as error:
            raise AuthError(f"The token is not valid: {error}") from None
    if claims is None:
        raise AuthError("The token's signature does not match a key of its issuer.")
    _check_claims(client, claims)


def _check_claims(client: dict[str, Any], claims: dict[str, Any]) -> None:
    if "sub" in client and claims.get("sub") != client["sub"]:
        raise AuthError("The token's sub is not the one configured for this client.")
    if claims["exp"] - claims["iat"] > MAX_LIFETIME_SECONDS:
        raise AuthError("The token lives longer than five minutes.")
    remaining = int(claims["exp"] - time.time()) + LEEWAY_SECONDS
    if not cache.add(f"cds-jti:{client['iss']}:{claims['jti']}", 1, timeout=max(remaining, 1)):
        raise AuthError("The token was already used (jti replayed).")
