"""CDS Hooks client authentication: the EHR's signed JWT (CDS Hooks 2.0, "Trusting CDS Clients").

Keys of trusted clients are configured locally (settings.CDS_CLIENTS, from the JSON file named by
DJANGO_CDS_CLIENTS_FILE): nothing is fetched from a `jku` URL. A token must be signed by a key of
its issuer's JWK Set, name this service endpoint as `aud`, carry iss, exp, iat and jti, live at
most five minutes, and never be replayed: its issuer and jti are kept in the database
(`UsedToken`) until it expires, so every worker and instance shares the memory, the unique insert
is the atomic check, and a cache (Redis) outage or restart neither refuses every call nor lets a
used token back in. Any token that is malformed or does not fit its key is a 401, never a 500.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import json
import secrets
from datetime import UTC, datetime
from typing import Any

import jwt
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from jwt.utils import base64url_decode

from dosing.models import UsedToken

ALGORITHMS = ["ES384", "RS384"]  # the two the specification asks services to support
KEY_TYPES = {"ES384": "EC", "RS384": "RSA"}  # a token's alg fits only keys of this type
PURGE_EVERY = 100  # expired tokens are deleted on one insert in this many
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
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise AuthError(f"The token's alg must be one of {', '.join(ALGORITHMS)}.")
    keys = _key_set(json.dumps(client["jwks"], sort_keys=True))
    kid = header.get("kid")
    # Only keys of the type the alg names: an RS384 token is never handed an EC key (the library
    # answers that with an exception of its own, once a 500).
    chosen = [k for k in keys if (kid is None or k.key_id == kid) and k.key_type == KEY_TYPES[alg]]
    if not chosen:
        raise AuthError("No configured key of this client fits the token's kid and alg.")
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
                algorithms=[header["alg"]],
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
        except (ValueError, TypeError, KeyError):  # a key or claim the library cannot use
            raise AuthError("The token is not valid: it does not fit the client's key.") from None
    if claims is None:
        raise AuthError("The token's signature does not match a key of its issuer.")
    _check_claims(client, claims)


def _check_claims(client: dict[str, Any], claims: dict[str, Any]) -> None:
    if "sub" in client and claims.get("sub") != client["sub"]:
        raise AuthError("The token's sub is not the one configured for this client.")
    for name in ("exp", "iat"):
        if isinstance(claims[name], bool) or not isinstance(claims[name], int | float):
            raise AuthError(f"The token's {name} must be a number.")
    if claims["exp"] - claims["iat"] > MAX_LIFETIME_SECONDS:
        raise AuthError("The token lives longer than five minutes.")
    if not isinstance(claims["jti"], str) or not 0 < len(claims["jti"]) <= 256:
        raise AuthError("The token's jti must be a string of 1 to 256 characters.")
    remember(client["iss"], claims["jti"], claims["exp"] + LEEWAY_SECONDS)


def remember(issuer: str, jti: str, until: float) -> None:
    """Keep the token as used until `until` (epoch seconds); AuthError if it already was."""
    key = hashlib.sha256(f"{issuer}\n{jti}".encode()).hexdigest()
    expires = datetime.fromtimestamp(until, tz=UTC)
    try:
        with transaction.atomic():
            UsedToken.objects.create(key=key, expires_at=expires)
    except IntegrityError:
        raise AuthError("The token was already used (jti replayed).") from None
    if secrets.randbelow(PURGE_EVERY) == 0:
        UsedToken.objects.filter(expires_at__lt=datetime.now(tz=UTC)).delete()
