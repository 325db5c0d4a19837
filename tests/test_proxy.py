"""The production proxy (deploy/nginx.conf, issue 24.4): what it must say, that the loopback
rendering (scripts/proxy.py) changes nothing else, and the app served through it: nginx's banner,
the proxy's and the app's body limits agreeing to the byte, JSON for the proxy's own errors.
The slow-client test is in the two-instance suite (tests/test_instances.py)."""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from scripts import proxy
from scripts.serve import free_port, production_server
from scripts.services import Client

CONFIG = proxy.CONFIG.read_text()
BODY = {"indication": "ra", "route": "iv", "weight": 70, "step": "increased"}
JSON_TYPES = {"application/json", "application/fhir+json"}


def tls_server() -> str:
    (block,) = [b for b in proxy._SERVER_BLOCK.findall(CONFIG) if "listen 443 " in b]
    return block


def directive(name: str, text: str | None = None) -> list[str]:
    """The values a directive is given in the TLS server block (or `text`)."""
    return re.findall(rf"^\s*{name}\s+([^;]*);", tls_server() if text is None else text, re.M)


def nginx_size(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kKmM]?)", value).groups()
    return int(number) * {"": 1, "k": 1024, "m": 1024 * 1024}[unit.lower()]


def test_the_proxy_buffers_requests_and_answers_and_hides_its_version() -> None:
    assert directive("proxy_request_buffering") == ["on"]
    assert directive("proxy_buffering") == ["on"]
    assert directive("server_tokens") == ["off"]
    for timeout in ("client_header_timeout", "client_body_timeout", "send_timeout"):
        assert directive(timeout), f"{timeout} is left to nginx's 60 s default"


def test_the_proxy_and_django_refuse_bodies_of_the_same_size() -> None:
    (limit,) = directive("client_max_body_size")
    assert nginx_size(limit) == settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    # A body up to the limit stays in memory: it is patient data, never a temporary file.
    (buffer,) = directive("client_body_buffer_size")
    assert nginx_size(buffer) >= settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in CONFIG  # the 413 message says it


def test_the_proxy_appends_to_x_forwarded_for_rather_than_passing_the_clients_header() -> None:
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in tls_server()


def test_the_loopback_rendering_changes_only_the_ports_the_name_and_the_certificate() -> None:
    routes = [proxy.Route(port=8001, instances=[9001]), proxy.Route(port=8002, instances=[9002])]
    rendered = proxy.site(routes)
    changed = re.compile(
        r"^\s*(listen|server_name|ssl_certificate|ssl_certificate_key|proxy_pass) "
    )
    production = [line for line in tls_server().splitlines() if not changed.match(line)]
    blocks = proxy._SERVER_BLOCK.findall(rendered)
    assert len(blocks) == 2
    for block, route in zip(blocks, routes, strict=True):
        assert [line for line in block.splitlines() if not changed.match(line)] == production
        assert f"listen 127.0.0.1:{route.port};" in block
        assert "ssl" not in block
    assert "server 127.0.0.1:9001;" in rendered
    assert "server 10.0.0.11:8000;" not in rendered


def test_a_production_file_of_another_shape_is_refused_not_rendered_wrongly() -> None:
    with pytest.raises(ValueError, match="listening on 443"):
        proxy.site(
            [proxy.Route(port=8001, instances=[9001])], CONFIG.replace("listen 443", "listen 444")
        )


def test_nginx_accepts_the_rendered_configuration(tmp_path: Path) -> None:
    config = tmp_path / "nginx.conf"
    config.write_text(proxy.main_config([proxy.Route(port=free_port(), instances=[1])], tmp_path))
    proxy.check(config, tmp_path)  # raises with nginx's message otherwise


# --- the app served through the proxy -------------------------------------------------------


@pytest.fixture(scope="module")
def routes() -> Iterator[list[proxy.Route]]:
    """The app through nginx, and a second route to a port nothing listens on."""
    with production_server(workers=1, threads=2) as server:
        port = int(server.url.rsplit(":", 1)[1])
        with proxy.proxy([port], [free_port()]) as found:
            yield found


def post(route: proxy.Route, path: str, body: bytes) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", route.port, timeout=30)
    connection.request("POST", path, body, {"Content-Type": "application/json"})
    answer = connection.getresponse()
    answer.body = answer.read()  # type: ignore[attr-defined]
    connection.close()
    return answer


def padded_to(size: int) -> bytes:
    body = json.dumps(BODY)
    return (body + " " * (size - len(body))).encode()


def test_the_banner_is_nginx_without_a_version_and_never_gunicorn(
    routes: list[proxy.Route],
) -> None:
    answer = Client(routes[0].url).get("/api/v1/health")
    assert answer.status == 200
    assert answer.headers["Server"] == "nginx"


def test_a_body_of_the_limit_reaches_the_app_and_one_byte_more_is_refused_in_json(
    routes: list[proxy.Route],
) -> None:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    accepted = post(routes[0], "/api/v1/calculate", padded_to(limit))
    refused = post(routes[0], "/api/v1/calculate", padded_to(limit + 1))
    assert accepted.status == 200
    assert json.loads(accepted.body)["dose_mg"]  # type: ignore[attr-defined]
    assert refused.status == 413
    assert refused.headers["Content-Type"] == "application/json"
    assert f"{limit} bytes" in json.loads(refused.body)["detail"]  # type: ignore[attr-defined]


def test_an_unknown_api_path_through_the_proxy_is_the_apps_json_404(
    routes: list[proxy.Route],
) -> None:
    answer = Client(routes[0].url).get("/api/v1/nothing-here")
    assert answer.status == 404
    assert answer.headers["Content-Type"] == "application/json"
    assert "/api/v1/nothing-here" in answer.json()["detail"]


@pytest.mark.parametrize("path", ["/api/v1/health", "/cds-services", "/fhir/MedicationKnowledge"])
def test_no_instance_answering_is_json_with_retry_after_under_the_json_paths(
    routes: list[proxy.Route], path: str
) -> None:
    answer = Client(routes[1].url).get(path)
    assert answer.status == 502
    assert answer.headers["Content-Type"] in JSON_TYPES
    assert answer.headers["Retry-After"] == "30"
    assert "try again shortly" in answer.text
    json.loads(answer.body)  # valid JSON, whichever shape


def test_no_instance_answering_a_page_is_nginxs_html(routes: list[proxy.Route]) -> None:
    answer = Client(routes[1].url).get("/")
    assert answer.status == 502
    assert answer.headers["Content-Type"].startswith("text/html")
