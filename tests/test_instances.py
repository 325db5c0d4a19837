"""Two gunicorn instances behind one PostgreSQL and one Redis, as a hospital group runs them.

Run as its own step of `make test` (`pytest -m instances`): it starts Debian's PostgreSQL and
redis-server on loopback (scripts/services.py), serves the app twice (scripts/serve.py) behind
the production proxy (deploy/nginx.conf through scripts/proxy.py: one nginx port per instance,
so a test still chooses the instance it asks), and stops each service mid-run. Each test uses its
own client addresses so their rate-limit buckets stay apart: the instances trust two proxies, the
test client standing for the load balancer (its X-Forwarded-For names the client) and nginx,
which appends the address it saw.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from redis import Redis as RedisClient

from scripts.proxy import proxy
from scripts.serve import Server, production_server
from scripts.services import (
    Client,
    Postgres,
    Redis,
    Response,
    advisory_change_path,
    create_admin,
    form_fields,
    mark_advisory,
    postgres,
    publish_draft,
    redis,
)
from tests import cds_helpers as cds

pytestmark = pytest.mark.instances

LIMIT = 10  # calculations per client address and day (a day: no window edge mid-test)
BODY = {"indication": "ra", "route": "iv", "weight": 70, "step": "increased"}
FORM = [("indication", "ra"), ("route", "iv"), ("weight", "70"), ("weight_unit", "kg"),
        ("step", "increased"), ("therapy", "starting")]  # fmt: skip
PASSWORD = "instances-test-only-1"  # noqa: S105
CDS_KEY = cds.new_key()
SIGN = "/cds-services/tocilizumab-order-sign"
CDS_BODY = cds.cds_request(cds.medication_request(dose=560), cds.prefetch(on_therapy=True))
_addresses = (f"10.{a}.{b}.1" for a, b in itertools.product(range(1, 250), range(1, 250)))


def fresh_address() -> str:
    return next(_addresses)


@dataclass
class Site:
    db: Postgres
    cache: Redis
    a: Server
    b: Server
    log: Path

    def log_text(self) -> str:
        return self.log.read_text()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    log = tmp_path_factory.mktemp("instances") / "servers.log"
    clients = log.parent / "cds-clients.json"
    clients.write_text(json.dumps([{"iss": cds.ISSUER, "jwks": CDS_KEY[1]}]))
    with ExitStack() as stack:
        db = stack.enter_context(postgres())
        cache = stack.enter_context(redis())
        settings = {
            "DATABASE_URL": db.url,
            "REDIS_URL": cache.url,
            "DJANGO_TRUSTED_PROXIES": "2",  # the test client (a load balancer), then nginx
            "DJANGO_CALCULATE_RATE": f"{LIMIT}/d",
            "DJANGO_LOG_LEVEL": "WARNING",
            "DJANGO_CDS_CLIENTS_FILE": str(clients),
        }
        direct = [
            stack.enter_context(production_server(workers=1, threads=4, log=log, **settings))
            for _ in range(2)
        ]
        routes = stack.enter_context(proxy(*([port_of(s)] for s in direct)))
        # Every request of the suite goes through nginx; `manage` still reaches the instance's
        # own database settings.
        a, b = (dataclasses.replace(s, url=r.url) for s, r in zip(direct, routes, strict=True))
        create_admin(a, PASSWORD)
        create_admin(a, PASSWORD, username="reviewer")  # publishes what "admin" edits
        yield Site(db=db, cache=cache, a=a, b=b, log=log)


def port_of(server: Server) -> int:
    return int(server.url.rsplit(":", 1)[1])


def calculate(server: Server, address: str | None = None) -> Response:
    forwarded = {"X-Forwarded-For": address or fresh_address()}
    return Client(server.url).post_json("/api/v1/calculate", BODY, **forwarded)


def change_content_through(server: Server, marker: str) -> None:
    admin = Client(server.url)
    admin.login_admin("admin", PASSWORD)
    code = calculate(server).json()["warnings"][-1]["code"]
    mark_advisory(admin, advisory_change_path(server, code), marker)
    reviewer = Client(server.url)
    reviewer.login_admin("reviewer", PASSWORD)
    publish_draft(reviewer, f"Advisory edited ({marker})")


def first_answer_showing(server: Server, marker: str, *, seconds: float) -> Any:
    """Polls until an answer shows the marker; returns (seconds after start it was asked, body)."""
    start = time.monotonic()
    while (asked := time.monotonic() - start) < seconds:
        body = calculate(server).json()
        if any(f"[edit {marker}]" in w["message"] for w in body["warnings"]):
            return asked, body
        time.sleep(0.05)
    return None, None


def test_the_rate_limit_counts_across_both_instances(site: Site) -> None:
    address = fresh_address()
    statuses = [calculate(server, address).status for server in [site.a, site.b] * LIMIT]
    assert statuses.count(200) == LIMIT  # N in total, not N per instance
    assert statuses[:LIMIT] == [200] * LIMIT
    assert set(statuses[LIMIT:]) == {429}


def test_every_rate_limit_counter_in_redis_has_a_lifetime(site: Site) -> None:
    """The count is SET NX EX then INCR in one transaction: never a counter left without one."""
    calculate(site.a), calculate(site.b)
    shared = RedisClient.from_url(site.cache.url)
    counters = shared.keys("*rl:calculate:*")
    assert counters
    assert all(0 < shared.ttl(key) <= 86400 + 1 for key in counters)


def test_a_content_change_through_one_instance_is_answered_by_the_other_within_a_second(
    site: Site,
) -> None:
    before = calculate(site.b).json()["content_version"]
    change_content_through(site.a, "b-follows")
    asked, body = first_answer_showing(site.b, "b-follows", seconds=1.0)
    assert asked is not None, "instance B still answered the old content one second later"
    assert body["content_version"] > before  # the new figures name the new version


def test_with_redis_stopped_both_instances_keep_calculating_and_log_a_warning(site: Site) -> None:
    site.cache.stop()
    try:
        address = fresh_address()  # one client, past the limit: the limit opens without Redis
        answers = [calculate(server, address) for server in [site.a, site.b] * LIMIT]
        health = [Client(s.url).get("/api/v1/health") for s in (site.a, site.b)]
        assert [r.status for r in answers] == [200] * (2 * LIMIT)
        assert all(r.headers["Content-Type"].split(";")[0] == "application/json" for r in answers)
        assert [h.status for h in health] == [200, 200]
        assert {h.json()["status"] for h in health} == {"degraded"}
        assert "Redis unavailable" in site.log_text()
    finally:
        site.cache.start()
    # Back with Redis: the shared cache is used again (after the back-off) and health says so.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        calculate(site.a), calculate(site.b)
        states = {Client(s.url).get("/api/v1/health").json()["status"] for s in (site.a, site.b)}
        back = site.log_text().count("Redis reachable again")  # one line per instance
        if states == {"ok"} and back == 2:
            break
        time.sleep(0.2)
    assert states == {"ok"}
    assert back == 2


def test_with_the_database_stopped_calculations_continue_and_all_recovers(site: Site) -> None:
    held = {calculate(s).json()["content_version"] for s in (site.a, site.b)}
    admin = Client(site.b.url)
    admin.login_admin("admin", PASSWORD)
    page = Client(site.a.url)
    token = form_fields(page.get("/").text)["csrfmiddlewaretoken"][0]
    site.db.stop()
    try:
        time.sleep(1.1)  # past the shared version's lifetime: the instances must ask the database
        answers = [calculate(s) for s in (site.a, site.b) * 5]
        form = page.post_form("/", [("csrfmiddlewaretoken", token), *FORM])
        health = [Client(s.url).get("/api/v1/health").status for s in (site.a, site.b) * 5]
        # Pages and content endpoints render from the snapshot held; the admin and the release
        # history need the database.
        admin_page = admin.get("/admin/dosing/publishedversion/")
        versions = Client(site.a.url).get("/api/v1/versions")
    finally:
        site.db.start()
    assert [r.status for r in answers] == [200] * 10
    assert {r.json()["content_version"] for r in answers} == held  # and says which version
    assert form.status == 200
    assert "Give" in form.text or "mg" in form.text
    assert health == [503] * 10
    assert admin_page.status == 503
    assert admin_page.headers["Content-Type"].startswith("text/html")
    assert "Temporarily unavailable" in admin_page.text
    assert versions.status == 503
    assert versions.headers["Content-Type"] == "application/json"
    assert "held in memory" in site.log_text()

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        health = [Client(s.url).get("/api/v1/health").status for s in (site.a, site.b)]
        if health == [200, 200]:
            break
        time.sleep(0.2)
    assert health == [200, 200]
    assert Client(site.b.url).get("/monograph/").status == 200
    change_content_through(site.b, "after-restart")
    asked, _ = first_answer_showing(site.a, "after-restart", seconds=1.0)
    assert asked is not None


# --- slow clients (issue 24.4) --------------------------------------------------------------

SLOW_CLIENTS = 20
HELD_SECONDS = 30


class SlowClient(threading.Thread):
    """A connection to the proxy that sends one byte a second until `release`, reconnecting
    whenever the proxy cuts it off: a header that never ends (nginx gives a header 10 s in all),
    or a calculate body declared 100 KB long (nginx waits 10 s between two reads of a body)."""

    HEADERS = {
        "header": b"GET /api/v1/health HTTP/1.1\r\nHost: localhost\r\n",
        "body": b"POST /api/v1/calculate HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n",
    }

    def __init__(self, port: int, kind: str, release: threading.Event) -> None:
        super().__init__(daemon=True)
        self.port, self.kind, self.release = port, kind, release
        self.open = False
        self.connections = 0

    def run(self) -> None:
        while not self.release.is_set():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
                    self.connections += 1
                    self.open = True
                    sock.sendall(self.HEADERS[self.kind])
                    while not self.release.wait(1.0):
                        sock.sendall(b"X-Slow: 1\r\n" if self.kind == "header" else b" ")
            except OSError:
                pass  # cut off by the proxy: connect again
            finally:
                self.open = False


def test_twenty_slow_clients_for_thirty_seconds_do_not_stop_health_or_calculate(
    site: Site,
) -> None:
    """Without the proxy, gunicorn's four threads each wait on a slow client and every probe
    waits until they let go (issue 24 measured it); through nginx no probe waits on them."""
    release = threading.Event()
    slow = [
        SlowClient(port_of(site.a), kind, release)
        for kind in ("header", "body") * (SLOW_CLIENTS // 2)
    ]
    for client in slow:
        client.start()
    while sum(c.open for c in slow) < SLOW_CLIENTS:  # every slow client connected once
        time.sleep(0.05)
    # The slow clients let go by themselves only after the probing ends (with room for a last
    # probe): a probe the instance could not answer while they were held is answered after.
    timer = threading.Timer(HELD_SECONDS + 10, release.set)
    timer.start()
    end = time.monotonic() + HELD_SECONDS
    # (probe, status, slow connections open when it was answered, answered before the release)
    probes: list[tuple[str, int, int, bool]] = []

    def probe(name: str, answer: Response) -> None:
        probes.append((name, answer.status, sum(c.open for c in slow), not release.is_set()))

    try:
        while time.monotonic() < end and not release.is_set():
            probe("health", Client(site.a.url).get("/api/v1/health"))
            probe("calculate", calculate(site.a))
            release.wait(0.5)
    finally:
        release.set()
        timer.cancel()
        for client in slow:
            client.join(timeout=10)
    assert {name for name, *_ in probes} == {"health", "calculate"}
    assert [status for _, status, *_ in probes] == [200] * len(probes)
    # Every probe was answered while the slow clients were still there (the body senders are
    # never cut off: they send within nginx's 10 s; the header senders reconnect when cut).
    assert all(before for *_, before in probes)
    assert min(held for _, _, held, _ in probes) >= SLOW_CLIENTS // 2
    assert all(c.connections >= 1 for c in slow)


def _order_sign(server: Server, token: str) -> Response:
    return Client(server.url).post_json(SIGN, CDS_BODY, Authorization=f"Bearer {token}")


def _audience(server: Server) -> str:
    # nginx passes Host without the port (`$host`), as a proxy on 443 does: the URL the
    # service names itself by, and so the token's audience.
    return f"http://{urlsplit(server.url).hostname}{SIGN}"


def _token(server: Server) -> str:
    return cds.token(CDS_KEY[0], _audience(server))


def test_with_redis_stopped_order_sign_answers_and_the_replay_check_holds(site: Site) -> None:
    """Issue 21: once, with Redis down, 810 of 813 order-sign calls were refused as replays, and
    after a Redis restart used tokens were accepted again. The replay memory is the database."""
    used_before = _token(site.a)
    assert _order_sign(site.a, used_before).status == 200
    site.cache.stop()
    try:
        answers = [_order_sign(s, _token(s)) for s in [site.a, site.b] * 10]
        assert [r.status for r in answers] == [200] * 20
        assert "matches the calculated 560 mg" in answers[0].json()["cards"][0]["summary"]
        used = _token(site.b)
        assert _order_sign(site.b, used).status == 200
        assert _order_sign(site.b, used).status == 401  # replayed, Redis down
        assert _order_sign(site.a, used_before).status == 401  # used before the outage
    finally:
        site.cache.start()
    assert _order_sign(site.a, used_before).status == 401  # and after the restart


def test_concurrent_replays_across_both_instances_are_accepted_once(site: Site) -> None:
    """Once, with the default cache and 2 workers, 20 of 60 concurrent replays were accepted."""
    jti = "concurrent-replay-1"
    tokens = {s.url: cds.token(CDS_KEY[0], _audience(s), jti=jti) for s in (site.a, site.b)}

    def replay(i: int) -> int:
        server = site.a if i % 2 else site.b
        return _order_sign(server, tokens[server.url]).status

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(replay, range(60)))
    assert statuses.count(200) == 1
    assert statuses.count(401) == 59
