"""The API's JSON parser: numbers as the client wrote them, never through a binary float."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, cast

from django.http import HttpRequest
from ninja.parser import Parser


class DecimalJSONParser(Parser):
    """JSON numbers with a fraction or an exponent become Decimal, digit for digit (issue 22).

    json's default reads 29.99999999999999999 as the float 30.0, and a band edge is then crossed
    before the engine sees the weight: the HTML form, which reads text, chose the lower band.
    Integers are exact in Python already and stay int.
    """

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        return cast(dict[str, Any], json.loads(request.body, parse_float=Decimal))
