"""The CDS Hooks order-sign service under load (used by scripts/loadtest_cds.py).

Two throwaway keys (P-384 for ES384, RSA 2048 for RS384) are configured as trusted clients, and
every signed request carries its own JWT (a replayed jti is refused, so each request needs a fresh
token): the tokens are signed before the run and wrk's threads take disjoint ones. Without a key,
requests carry no Authorization (for a server with DJANGO_CDS_ALLOW_UNSIGNED=1).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests import cds_helpers as h  # noqa: E402

PATH = "/cds-services/tocilizumab-order-sign"
# A 70 kg RA patient on therapy, ANC 1500: the common case, every prefetch key filled.
BODY = h.cds_request(
    h.medication_request(dose=560),
    h.prefetch(labs={"anc_per_mm3": 1500, "platelets_per_mm3": 250000, "alt_x_uln": 0.8, "ast_x_uln": 0.9}, on_therapy=True),
)  # fmt: skip

# Each thread formats its own requests (every `threads`-th token) in init, which wrk runs before
# it starts the clock: per request, request() only hands over a ready string. wrk shares the
# machine's cores with the server, so formatting a 6 KB body per request in Lua would be
# measured as the service's cost.
LUA = """
local counter = 0
function setup(thread)
  thread:set("offset", counter)
  counter = counter + 1
end
function init(args)
  local file = io.open("%(body)s")
  local body = file:read("*a")
  file:close()
  requests = {}
  local index = 0
  for token in io.lines("%(tokens)s") do
    if index %% %(threads)d == offset then
      local headers = {["Content-Type"] = "application/json"}
      if token ~= "unsigned" then headers["Authorization"] = "Bearer " .. token end
      requests[#requests + 1] = wrk.format("POST", nil, headers, body)
    end
    index = index + 1
  end
  next_request = 0
end
function request()
  next_request = next_request %% #requests + 1
  return requests[next_request]
end
"""


# One trusted client per algorithm the specification names; each signs with its own key.
ALGORITHMS = ("ES384", "RS384")


def issuer(alg: str) -> str:
    return f"{h.ISSUER}/{alg.lower()}"


def client_settings(tmp: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """The private key per algorithm, and the DJANGO_* variables that make the app trust them."""
    keys = {alg: h.new_key(alg) for alg in ALGORITHMS}
    clients = tmp / "cds-clients.json"
    clients.write_text(json.dumps([{"iss": issuer(a), "jwks": k[1]} for a, k in keys.items()]))
    return {alg: k[0] for alg, k in keys.items()}, {"DJANGO_CDS_CLIENTS_FILE": str(clients)}


def wrk_script(
    tmp: Path, name: str, private: Any, url: str, count: int, threads: int, alg: str = "RS384"
) -> Path:
    """Fresh tokens (a replay is refused), or with `private` None no Authorization at all."""
    tokens = tmp / f"{name}.tokens"
    if private is None:
        tokens.write_text("\n".join("unsigned" for _ in range(threads)))
    else:
        signed = (h.token(private, url, issuer=issuer(alg), exp_seconds=None) for _ in range(count))
        tokens.write_text("\n".join(signed))
    body = tmp / "order-sign.json"
    body.write_text(json.dumps(BODY))
    script = tmp / f"{name}.lua"
    script.write_text(LUA % {"tokens": tokens, "body": body, "threads": threads})
    return script
