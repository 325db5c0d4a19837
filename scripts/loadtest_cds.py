#!/usr/bin/env python
"""CDS Hooks load benchmark, run on demand (`make bench`): gunicorn behind the production nginx
(deploy/nginx.conf, scripts/proxy.py) on loopback, wrk as the load generator.

Drives GET /api/v1/health, POST /api/v1/calculate and the CDS Hooks order-sign service (full
prefetch, scripts/cds_load.py) at 16 concurrent connections, through nginx as production serves
them, and reports throughput and p50/p99 latency for each, and each one's throughput as a share
of health's. order-sign runs three ways: without a JWT (a second gunicorn, started with
DJANGO_CDS_ALLOW_UNSIGNED=1, measured alone: the service's own cost), and with ES384 and with
RS384 tokens (the EHR's choice of algorithm; verification's cost is what differs). They are
measured in turn (order-sign right after health) with the same connections, several rounds: on
a shared machine the load changes from one run to the next, so the ratio is taken within each
round and reported as median and range.
Beside each throughput, the CPU time one request cost the server (gunicorn's processes, from
/proc), nginx and wrk: on a machine shared with other work, throughput swings with their load,
while CPU per request does much less, and on two idle cores throughput is
~2 / (server + nginx + wrk CPU).
Only 127.0.0.1 is ever contacted. Needs Debian's wrk (scripts/system-deps.sh).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cds_load  # noqa: E402
from loadtest import BODY, to_ms  # noqa: E402  (the same request and wrk's latency units)
from proxy import cpu_seconds as nginx_cpu_seconds  # noqa: E402
from proxy import proxy  # noqa: E402
from serve import production_server  # noqa: E402

TOKENS_PER_SECOND = 800  # order-sign tokens signed per second of run, above the rates seen here


def gunicorn_cpu_seconds(port: int) -> float:
    """User + system CPU of the gunicorn master and workers serving `port` (Linux /proc)."""
    bind = f"--bind=127.0.0.1:{port}".encode()
    ticks = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if bind not in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"):
                continue
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def wrk_cpu_seconds() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def run_wrk(
    url: str, connections: int, seconds: int, script: Path | None, port: int, nginx: int
) -> dict[str, float]:
    """wrk against `url` (nginx), with the CPU of gunicorn on `port` and of the nginx `nginx`."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        command += ["-s", str(script)]
    before = gunicorn_cpu_seconds(port), nginx_cpu_seconds(nginx), wrk_cpu_seconds()
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    after = gunicorn_cpu_seconds(port), nginx_cpu_seconds(nginx), wrk_cpu_seconds()
    server_cpu, proxy_cpu, wrk_cpu = (b - a for a, b in zip(before, after, strict=True))
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", output, re.MULTILINE))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    return {
        "requests_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        # wrk prints no distribution when no request completed (a cold worker on a busy machine)
        "p50_ms": to_ms(latency["50"]) if "50" in latency else math.nan,
        "p99_ms": to_ms(latency["99"]) if "99" in latency else math.nan,
        "non_2xx": int(errors.group(1)) if errors else 0,
        "server_cpu_ms": server_cpu * 1000 / max(requests, 1),
        "proxy_cpu_ms": proxy_cpu * 1000 / max(requests, 1),
        "wrk_cpu_ms": wrk_cpu * 1000 / max(requests, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2 cores here)")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker")
    parser.add_argument(
        "--rounds", type=int, default=3, help="health, order-sign, calculate in turn"
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("loadtest_cds: Debian's wrk is missing (make bench installs it)")

    with tempfile.TemporaryDirectory() as keys:
        private_keys, cds_env = cds_load.client_settings(Path(keys))
        figures = measure(args, private_keys, cds_env)
    report(args, figures)


def measure(
    args: argparse.Namespace, keys: dict[str, Any], cds_env: dict[str, str]
) -> dict[str, Any]:
    served = {"workers": args.workers, "threads": args.threads}
    with (
        production_server(
            **served,
            DJANGO_CALCULATE_RATE="100000000/m",  # the limit is not what is measured
            **cds_env,
        ) as server,
        # order-sign without a JWT: the same app, told to accept unsigned requests
        production_server(**served, DJANGO_CDS_ALLOW_UNSIGNED="1") as unsigned_server,
        proxy([_port(server)], [_port(unsigned_server)]) as (front, unsigned_front),
        tempfile.TemporaryDirectory() as tmp,
    ):
        base = f"{front.url}/api/v1"
        # The audience the app sees through nginx: the request's Host without the port, as a
        # production name on 443 is.
        audience = f"http://127.0.0.1{cds_load.PATH}"

        def wrk(name: str, seconds: int, script: Path | None) -> dict[str, float]:
            if name == "order-sign no JWT":
                url, port = f"{unsigned_front.url}{cds_load.PATH}", _port(unsigned_server)
            elif name.startswith("order-sign"):
                url, port = f"{front.url}{cds_load.PATH}", _port(server)
            else:
                url, port = f"{base}/{name}", _port(server)
            return run_wrk(url, args.connections, seconds, script, port, front.pid)

        # Fresh tokens (a replay is refused) for up to TOKENS_PER_SECOND requests a second.
        def tokens(name: str, seconds: int, alg: str | None) -> Path:
            count = seconds * TOKENS_PER_SECOND
            private = keys[alg] if alg else None
            return cds_load.wrk_script(Path(tmp), name, private, audience, count, 2, alg or "")

        script = Path(tmp) / "calculate.lua"
        script.write_text(
            'wrk.method = "POST"\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
            f"wrk.body = [[{json.dumps(BODY)}]]\n"
        )
        kinds = {
            "order-sign no JWT": None,
            "order-sign ES384": "ES384",
            "order-sign RS384": "RS384",
        }
        wrk("health", 2, None)  # warm both workers of both servers
        wrk("calculate", 2, script)
        for name, alg in kinds.items():
            wrk(name, 2, tokens(f"warm-{alg}", 2, alg))
        rounds = []
        for number in range(args.rounds):
            signed = {n: tokens(f"{n}-{number}", args.seconds, a) for n, a in kinds.items()}
            runs = {"health": wrk("health", args.seconds, None)}
            # order-sign right after health: the pair sees the same machine load
            for name in kinds:
                runs[name] = wrk(name, args.seconds, signed[name])
            runs["calculate"] = wrk("calculate", args.seconds, script)
            rounds.append(runs)
        return {"rounds": rounds}


def _port(server: Any) -> int:
    return int(server.url.rsplit(":", 1)[1])


def report(args: argparse.Namespace, figures: dict[str, Any]) -> None:
    print(
        f"{args.connections} connections, {args.seconds} s each, "
        f"gunicorn {args.workers} workers × {args.threads} threads, {args.rounds} rounds"
    )
    compared = ["calculate", "order-sign no JWT", "order-sign ES384", "order-sign RS384"]
    ratios: dict[str, list[float]] = {name: [] for name in compared}
    cpu_ratios: dict[str, list[float]] = {name: [] for name in compared}
    p99s: dict[str, list[float]] = {name: [] for name in compared}
    for number, runs in enumerate(figures["rounds"], start=1):
        print(f"round {number}")
        for name, run in runs.items():
            print(
                f"{name:>18}: {run['requests_per_second']:8.0f} req/s  p50 {run['p50_ms']:6.2f} ms"
                f"  p99 {run['p99_ms']:6.2f} ms  non-2xx {run['non_2xx']}"
                f"  CPU/request: server {run['server_cpu_ms']:5.2f} ms,"
                f" nginx {run['proxy_cpu_ms']:5.2f} ms, wrk {run['wrk_cpu_ms']:5.2f} ms"
            )
        health = runs["health"]
        for name, values in ratios.items():
            values.append(runs[name]["requests_per_second"] / health["requests_per_second"])
            p99s[name].append(runs[name]["p99_ms"])
            cpu_ratios[name].append(_cpu(health) / _cpu(runs[name]))
    for name, values in ratios.items():
        shown = ", ".join(f"{v:.0%}" for v in values)
        worst = max(p99s[name])
        print(
            f"{name} throughput = {statistics.median(values):.0%} of health (median; rounds: "
            f"{shown}); p99 at most {worst:.1f} ms"
        )
    for name, values in cpu_ratios.items():
        shown = ", ".join(f"{v:.0%}" for v in values)
        print(
            f"{name}: health's CPU per request (server + nginx + wrk) is "
            f"{statistics.median(values):.0%} "
            f"of its (median; rounds: {shown})"
        )


def _cpu(run: dict[str, float]) -> float:
    return run["server_cpu_ms"] + run["proxy_cpu_ms"] + run["wrk_cpu_ms"]


if __name__ == "__main__":
    main()
