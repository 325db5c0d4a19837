"""Django's session, authentication and message middleware, skipped where nothing reads
what they set: the stateless endpoints (calculate, health, the content reads, CDS Hooks, FHIR).

Each is the framework's own class, subclassed (the admin's and Django's checks still find it),
and called as usual everywhere else. Measured on a JSON calculate request (issue 24.2): the three
together were about a third of the middleware's CPU, and on these paths they set a lazy session,
a lazy user and an empty message store that nothing reads, and add no header. What these paths
need is the client's address (actemra_site/client_ip.py) or a signed JWT (dosing/interop/auth.py),
never a cookie. /api/v1/versions is not among them: it shows staff the reviewers' names.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.middleware import AuthenticationMiddleware as _Authentication
from django.contrib.messages.middleware import MessageMiddleware as _Messages
from django.contrib.sessions.middleware import SessionMiddleware as _Session
from django.http import HttpRequest

STATELESS_PATHS = re.compile(
    r"^/(api/v1/(calculate|health|rules|indications|monograph)|cds-services|fhir)(/|$)"
)


def stateless(request: HttpRequest) -> bool:
    return STATELESS_PATHS.match(request.path_info) is not None


class _PagesOnly:
    get_response: Any

    def __call__(self, request: HttpRequest) -> Any:
        if stateless(request):
            return self.get_response(request)
        return super().__call__(request)  # type: ignore[misc]


class SessionMiddleware(_PagesOnly, _Session):
    pass


class AuthenticationMiddleware(_PagesOnly, _Authentication):
    pass


class MessageMiddleware(_PagesOnly, _Messages):
    pass
