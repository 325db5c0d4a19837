#!/usr/bin/env python
"""Load benchmark, run on demand (`make bench`): two instances, content changing every second.

Two gunicorn instances on one throwaway PostgreSQL and one Redis (scripts/services.py), each
behind the production nginx (deploy/nginx.conf, one loopback port per instance: scripts/proxy.py)
and driven through it by its own wrk posting /api/v1/calculate, while an editor changes an
advisory through the first instance's admin every second. Every answer is checked: its status, and that the
advisory text it carries is the one its content version had (figures of one version naming
another would be a mismatch). Reports throughput, p50/p99 latency, errors and mismatches.
Only 127.0.0.1 is ever contacted. Needs Debian's wrk (scripts/system-deps.sh).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from proxy import proxy  # noqa: E402
from serve import Server, production_server  # noqa: E402
from services import (  # noqa: E402
    Client,
    advisory_change_path,
    create_admin,
    mark_advisory,
    postgres,
    publish_draft,
    redis,
)

BODY = {"indication": "ra", "route": "iv", "weight": 154, "weight_unit": "lb", "step": "increased"}
PASSWORD = "loadtest-only-1"  # noqa: S105

# Per wrk thread: non-200 answers, and how often each (content version, edit marker) pair was
# seen; done() prints them as one JSON line.
WRK_SCRIPT = r"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[BODY]]
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0; seen = {} end
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1; return end
  local version = string.match(body, '"content_version":%s*(%d+)') or "?"
  local marker = string.match(body, '%[edit ([%w-]+)%]') or "none"
  local pair = version .. "/" .. marker
  seen[pair] = (seen[pair] or 0) + 1
end
function done(summary, latency, requests)
  local bad_total, totals = 0, {}
  for _, thread in ipairs(threads) do
    bad_total = bad_total + thread:get("bad")
    for pair, count in pairs(thread:get("seen")) do totals[pair] = (totals[pair] or 0) + count end
  end
  local items = {}
  for pair, count in pairs(totals) do table.insert(items, string.format('"%s": %d', pair, count)) end
  io.write(string.format('CHECKS {"non_200": %d, "pairs": {%s}}\n', bad_total, table.concat(items, ", ")))
end
"""


def to_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(url: str, script: Path, connections: int, seconds: int) -> subprocess.Popen[str]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script)]
    return subprocess.Popen([*command, url], stdout=subprocess.PIPE, text=True)


def figures(output: str) -> dict[str, object]:
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", output, re.MULTILINE))
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    checks = json.loads(re.search(r"^CHECKS (.*)$", output, re.MULTILINE).group(1))
    return {
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "requests_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50_ms": to_ms(latency["50"]),
        "p99_ms": to_ms(latency["99"]),
        "socket_errors": sum(int(n) for n in sockets.groups()) if sockets else 0,
        "non_200": checks["non_200"],
        "pairs": checks["pairs"],
    }


class Editor(threading.Thread):
    """Changes the advisory every second through instance A's admin; records which content
    version each edit produced (read back from the database through the health check)."""

    def __init__(self, server: Server, path: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.server, self.path, self.stop = server, path, stop
        self.version_of: dict[str, int] = {}
        self.failures: list[str] = []

    def run(self) -> None:
        admin = Client(self.server.url)
        admin.login_admin("admin", PASSWORD)
        reviewer = Client(self.server.url)
        reviewer.login_admin("reviewer", PASSWORD)
        number = 0
        while not self.stop.is_set():
            started = time.monotonic()
            number += 1
            marker = f"e{number}"
            try:
                mark_advisory(admin, self.path, marker)
                publish_draft(reviewer, f"Load test edit {marker}")
                health = admin.get("/api/v1/health").json()
                self.version_of[marker] = health["content_version"]
            except (RuntimeError, OSError, KeyError) as error:
                self.failures.append(f"{marker}: {error}")
            self.stop.wait(max(0.0, 1.0 - (time.monotonic() - started)))


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connections", type=int, default=8, help="per instance")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers per instance")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument(
        "--no-edits", action="store_true", help="steady content, for a baseline to compare"
    )
    return parser.parse_args()


def _load(args: argparse.Namespace) -> tuple[list[str], int, Editor]:
    """wrk against two instances while an editor publishes content: outputs, first version."""
    with ExitStack() as stack:
        db = stack.enter_context(postgres())
        cache = stack.enter_context(redis())
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        settings = {
            "DATABASE_URL": db.url,
            "REDIS_URL": cache.url,
            "DJANGO_CALCULATE_RATE": "100000000/m",  # the limit is not what is measured
        }
        direct = [
            stack.enter_context(
                production_server(workers=args.workers, threads=args.threads, **settings)
            )
            for _ in range(2)
        ]
        # Everything, the editor included, goes through nginx as in production.
        routes = stack.enter_context(proxy(*([int(s.url.rsplit(":", 1)[1])] for s in direct)))
        servers = [dataclasses.replace(s, url=r.url) for s, r in zip(direct, routes, strict=True)]
        create_admin(servers[0], PASSWORD)
        create_admin(servers[0], PASSWORD, username="reviewer")
        first = Client(servers[0].url).post_json("/api/v1/calculate", BODY).json()
        initial_version = first["content_version"]
        path = advisory_change_path(servers[0], first["warnings"][-1]["code"])
        script = tmp / "calculate.lua"
        script.write_text(WRK_SCRIPT.replace("BODY", json.dumps(BODY)))

        stop = threading.Event()
        editor = Editor(servers[0], path, stop)
        if not args.no_edits:
            editor.start()
        runs = [
            run_wrk(f"{s.url}/api/v1/calculate", script, args.connections, args.seconds)
            for s in servers
        ]
        outputs = [run.communicate()[0] for run in runs]
        stop.set()
        if editor.is_alive():
            editor.join(timeout=30)
    return outputs, initial_version, editor


def _mismatches(results: list[dict[str, Any]], expected: dict[str, int]) -> tuple[int, int]:
    """Answers whose content version is not the one their marker was published in."""
    mismatches = unchecked = 0
    for result in results:
        for pair, count in result["pairs"].items():
            version, marker = pair.split("/")
            if marker not in expected:
                unchecked += count  # an edit whose version was not read back (see failures)
            elif int(version) != expected[marker]:
                mismatches += count
    return mismatches, unchecked


def main() -> None:
    args = _arguments()
    if not shutil.which("wrk"):
        sys.exit(
            "loadtest: Debian's wrk is missing (make bench installs it: scripts/system-deps.sh)"
        )
    outputs, initial_version, editor = _load(args)
    try:
        results = [figures(output) for output in outputs]
    except (AttributeError, KeyError):
        sys.exit("loadtest: could not read wrk's output:\n" + "\n".join(outputs))
    mismatches, unchecked = _mismatches(results, {"none": initial_version, **editor.version_of})
    total = sum(r["requests"] for r in results)
    errors = sum(r["non_200"] + r["socket_errors"] for r in results)
    print(
        f"2 instances × gunicorn {args.workers} worker × {args.threads} threads behind nginx, "
        "PostgreSQL + "
        f"Redis; wrk {args.connections} connections per instance for {args.seconds} s; "
        f"content edited every second through the admin: {len(editor.version_of)} edits"
    )
    for name, r in zip("AB", results, strict=True):
        print(
            f"instance {name}: {r['requests_per_second']:7.0f} req/s  p50 {r['p50_ms']:6.2f} ms  "
            f"p99 {r['p99_ms']:6.2f} ms  non-200 {r['non_200']}  socket errors {r['socket_errors']}"
        )
    versions = {p.split("/")[0] for r in results for p in r["pairs"]}
    print(
        f"total: {total} requests, {sum(r['requests_per_second'] for r in results):.0f} req/s, "
        f"errors {errors}, version mismatches {mismatches} (unchecked {unchecked}), "
        f"{len(versions)} content versions answered"
    )
    if editor.failures:
        print(f"editor failures: {editor.failures}")
    if errors or mismatches:
        sys.exit(1)


if __name__ == "__main__":
    main()
