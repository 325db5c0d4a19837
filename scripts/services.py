"""Throwaway PostgreSQL and Redis on loopback, and a small cookie-keeping HTTP client.

For the two-instance test (tests/test_instances.py) and the load script (scripts/loadtest.py):
both stop and restart the services mid-run, so they own them here rather than through
scripts/with-postgres.sh. Only 127.0.0.1 is ever bound or contacted.
"""

from __future__ import annotations

import glob
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve import Server, free_port  # noqa: E402


def wait_for_port(port: int, *, up: bool, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(0.2)
            listening = sock.connect_ex(("127.0.0.1", port)) == 0
        if listening == up:
            return
        time.sleep(0.05)
    raise RuntimeError(f"port {port} did not come {'up' if up else 'down'}")


@dataclass
class Postgres:
    """A cluster in a temporary folder; PostgreSQL refuses root, so root runs it as postgres."""

    folder: Path
    port: int
    bindir: Path = field(init=False)

    def __post_init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[4]))
        if not found:
            raise RuntimeError("Debian's postgresql is not installed (scripts/system-deps.sh)")
        self.bindir = Path(found[-1])

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *args], check=True, capture_output=True)

    def init(self) -> None:
        self.folder.chmod(0o755)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        data = self.folder / "data"
        self._run(str(self.bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8")  # fmt: skip
        # Written into the cluster, so a plain `pg_ctl start` after a stop comes back the same.
        with (data / "postgresql.auto.conf").open("a") as conf:
            conf.write(
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.folder}'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
            )

    def start(self) -> None:
        data = self.folder / "data"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(data), "-l", str(self.folder / "log"),
                  "-w", "start")  # fmt: skip

    def stop(self) -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "fast",
                  "-w", "stop")  # fmt: skip


@contextmanager
def postgres() -> Iterator[Postgres]:
    folder = Path(tempfile.mkdtemp(prefix="actemra-pg-"))
    cluster = Postgres(folder=folder, port=free_port())
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        with suppress(subprocess.CalledProcessError):  # already stopped
            cluster._run(str(cluster.bindir / "pg_ctl"), "-D", str(folder / "data"), "-m",
                         "immediate", "stop")  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Redis:
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        if not shutil.which("redis-server"):
            raise RuntimeError("Debian's redis-server is not installed (scripts/system-deps.sh)")
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(self.port, up=True)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
        wait_for_port(self.port, up=False)


@contextmanager
def redis() -> Iterator[Redis]:
    server = Redis(port=free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


class Client:
    """HTTP on loopback that keeps cookies, Secure ones included (the servers here are plain
    http, and the production settings mark every cookie Secure)."""

    def __init__(self, base_url: str) -> None:
        self.base = urlsplit(base_url)
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        connection = http.client.HTTPConnection(self.base.hostname, self.base.port, timeout=30)
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            connection.request(method, path, body=body, headers=sent)
            answer = connection.getresponse()
            data = answer.read()
        finally:
            connection.close()
        for header in answer.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return Response(answer.status, dict(answer.headers.items()), data)

    def get(self, path: str, **headers: str) -> Response:
        return self.request("GET", path, headers=headers)

    def post_json(self, path: str, payload: object, **headers: str) -> Response:
        body = json.dumps(payload).encode()
        return self.request("POST", path, body, {"Content-Type": "application/json", **headers})

    def post_form(self, path: str, fields: list[tuple[str, str]], **headers: str) -> Response:
        body = urlencode(fields).encode()
        content_type = {"Content-Type": "application/x-www-form-urlencoded"}
        return self.request("POST", path, body, {**content_type, **headers})

    def login_admin(self, username: str, password: str) -> None:
        page = self.get("/admin/login/")
        token = form_fields(page.text)["csrfmiddlewaretoken"][0]
        fields = [("csrfmiddlewaretoken", token), ("username", username), ("password", password),
                  ("next", "/admin/")]  # fmt: skip
        answer = self.post_form("/admin/login/", fields)
        if answer.status != 302:
            raise RuntimeError(f"admin login answered {answer.status}")

    def change_in_admin(self, path: str, **changes: str) -> Response:
        """Submits an admin change form as a browser would, with `changes` applied."""
        fields = form_fields(self.get(path).text)
        for name, value in changes.items():
            fields[name] = [value]
        pairs = [(name, value) for name, values in fields.items() for value in values]
        return self.post_form(path, [*pairs, ("_save", "Save")])


class _FormReader(HTMLParser):
    """The values a browser would submit from the page's forms (without JavaScript)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in {"submit", "button", "file", "image", "reset"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in a:
                return
            default = "on" if kind in {"checkbox", "radio"} else ""
            self.fields.setdefault(name, []).append(a.get("value", default))
        elif tag == "select" and name:
            self._select = name
            self.fields.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in a:
            self.fields[self._select].append(a.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields[name] = [""]

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            # Browsers drop the one newline that follows <textarea>.
            value = self.fields[self._textarea][0]
            self.fields[self._textarea][0] = value.removeprefix("\n")
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.fields[self._textarea][0] += data


def form_fields(html: str) -> dict[str, list[str]]:
    reader = _FormReader()
    reader.feed(html)
    return reader.fields


MARKER = re.compile(r" \[edit ([\w-]+)\]$")


def advisory_change_path(server: Server, code: str) -> str:
    """The admin change page of the advisory with this code."""
    out = server.manage("shell", "-c", "from dosing.models import Advisory; "
                        f"print(Advisory.objects.get(code='{code}').pk)")  # fmt: skip
    return f"/admin/dosing/advisory/{out.strip().splitlines()[-1]}/change/"


def create_admin(server: Server, password: str, username: str = "admin") -> None:
    server.manage("shell", "-c", "from django.contrib.auth.models import User; "
                  f"User.objects.create_superuser('{username}', 'a@example.org', '{password}')")  # fmt: skip


REVIEW_PATH = "/admin/dosing/publishedversion/review/"


def publish_draft(reviewer: Client, summary: str) -> None:
    """Publishes the draft through the review page, as a second person (not its author) does."""
    fields = form_fields(reviewer.get(REVIEW_PATH).text)
    pairs = [("csrfmiddlewaretoken", fields["csrfmiddlewaretoken"][0]),
             ("draft_hash", fields["draft_hash"][0]), ("summary", summary), ("confirm", "yes")]  # fmt: skip
    # The live version the page was reviewed against (issue 20: a publish in between is refused).
    pairs += [("live_number", value) for value in fields.get("live_number", [])[:1]]
    answer = reviewer.post_form(REVIEW_PATH, pairs)
    if answer.status != 302:
        errors = re.findall(
            r'<ul class="(?:errorlist|messagelist)[^>]*>.*?</ul>', answer.text, re.DOTALL
        )
        raise RuntimeError(f"the review page refused the publish ({answer.status}): {errors}")


def mark_advisory(admin: Client, path: str, marker: str) -> None:
    """A content edit through the admin: the advisory's message ends with ' [edit MARKER]'."""
    message = MARKER.sub("", form_fields(admin.get(path).text)["message"][0])
    saved = admin.change_in_admin(path, message=f"{message} [edit {marker}]")
    if saved.status != 302:
        errors = re.findall(r'<ul class="errorlist[^>]*>.*?</ul>', saved.text, re.DOTALL)
        raise RuntimeError(f"the admin refused the edit ({saved.status}): {errors}")
