#!/usr/bin/env python
"""CDS Hooks load benchmark, run on demand (`make bench`): gunicorn on loopback, wrk as the load generator.

Drives GET /api/v1/health, POST /api/v1/calculate and the CDS Hooks order-sign service (signed
JWTs, scripts/cds_load.py) at 16 concurrent connections and reports throughput and p50/p99 latency
for each, and each one's throughput as a share of health's. The three are measured in turn
(order-sign right after health) on the same server with the same connections, several rounds: on
a shared machine the load changes from one run to the next, so the ratio is taken within each
round and reported as median and range.
Beside each throughput, the CPU time one request cost the server (gunicorn's processes, from
/proc) and wrk: on a machine shared with other work, throughput swings with their load, while
CPU per request does much less, and on two idle cores throughput is ~2 / (server + wrk CPU).
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
    url: str, connections: int, seconds: int, script: Path | None, port: int
) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        command += ["-s", str(script)]
    server_before, wrk_before = gunicorn_cpu_seconds(port), wrk_cpu_seconds()
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    server_cpu, wrk_cpu = gunicorn_cpu_seconds(port) - server_before, wrk_cpu_seconds() - wrk_before
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
        private, cds_env = cds_load.client_settings(Path(keys))
        figures = measure(args, private, cds_env)
    report(args, figures)


def measure(args: argparse.Namespace, private: Any, cds_env: dict[str, str]) -> dict[str, Any]:
    with (
        production_server(
            workers=args.workers,
            threads=args.threads,
            DJANGO_CALCULATE_RATE="100000000/m",  # the limit is not what is measured
            **cds_env,
        ) as server,
        tempfile.TemporaryDirectory() as tmp,
    ):
        base = f"{server.url}/api/v1"
        port = int(server.url.rsplit(":", 1)[1])
        sign_url = f"{server.url}{cds_load.PATH}"

        # Fresh tokens (a replay is refused) for up to TOKENS_PER_SECOND requests a second.
        def tokens(name: str, seconds: int) -> Path:
            count = seconds * TOKENS_PER_SECOND
            return cds_load.wrk_script(Path(tmp), name, private, sign_url, count, 2)

        script = Path(tmp) / "calculate.lua"
        script.write_text(
            'wrk.method = "POST"\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
            f"wrk.body = [[{json.dumps(BODY)}]]\n"
        )
        run_wrk(f"{base}/health", args.connections, 2, None, port)  # warm both workers
        run_wrk(f"{base}/calculate", args.connections, 2, script, port)
        run_wrk(sign_url, args.connections, 2, tokens("warm", 2), port)
        rounds = []
        for number in range(args.rounds):
            order_sign = tokens(f"sign-{number}", args.seconds)  # signed before the round
            rounds.append(
                {
                    # order-sign right after health: the pair sees the same machine load
                    "health": run_wrk(f"{base}/health", args.connections, args.seconds, None, port),
                    "order-sign": run_wrk(
                        sign_url, args.connections, args.seconds, order_sign, port
                    ),
                    "calculate": run_wrk(
                        f"{base}/calculate", args.connections, args.seconds, script, port
                    ),
                }
            )
        return {"rounds": rounds}


def report(args: argparse.Namespace, figures: dict[str, Any]) -> None:
    print(
        f"{args.connections} connections, {args.seconds} s each, "
        f"gunicorn {args.workers} workers × {args.threads} threads, {args.rounds} rounds"
    )
    ratios: dict[str, list[float]] = {"calculate": [], "order-sign": []}
    cpu_ratios: dict[str, list[float]] = {"calculate": [], "order-sign": []}
    for number, runs in enumerate(figures["rounds"], start=1):
        print(f"round {number}")
        for name, run in runs.items():
            print(
                f"{name:>10}: {run['requests_per_second']:8.0f} req/s  p50 {run['p50_ms']:6.2f} ms"
                f"  p99 {run['p99_ms']:6.2f} ms  non-2xx {run['non_2xx']}"
                f"  CPU/request: server {run['server_cpu_ms']:5.2f} ms, wrk {run['wrk_cpu_ms']:5.2f} ms"
            )
        health = runs["health"]
        for name, values in ratios.items():
            values.append(runs[name]["requests_per_second"] / health["requests_per_second"])
            cpu_ratios[name].append(
                (health["server_cpu_ms"] + health["wrk_cpu_ms"])
                / (runs[name]["server_cpu_ms"] + runs[name]["wrk_cpu_ms"])
            )
    for name, values in ratios.items():
        shown = ", ".join(f"{v:.0%}" for v in values)
        print(
            f"{name} throughput = {statistics.median(values):.0%} of health (median; rounds: {shown})"
        )
    for name, values in cpu_ratios.items():
        shown = ", ".join(f"{v:.0%}" for v in values)
        print(
            f"{name}: health's CPU per request (server + wrk) is {statistics.median(values):.0%} "
            f"of its (median; rounds: {shown})"
        )


if __name__ == "__main__":
    main()
