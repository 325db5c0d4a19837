#!/usr/bin/env python
"""CDS Hooks load benchmark, run on demand (`make bench`): gunicorn on loopback, wrk as the load generator.

Drives GET /api/v1/health, POST /api/v1/calculate and the CDS Hooks order-sign service (signed
JWTs, scripts/cds_load.py) at 16 concurrent connections and reports throughput and p50/p99 latency
for each, and each one's throughput as a share of health's. The three are measured in turn
(order-sign right after health) on the same server with the same connections, several rounds: on
a shared machine the load changes from one run to the next, so the ratio is taken within each
round and reported as median and range.
Only 127.0.0.1 is ever contacted. Needs Debian's wrk (scripts/system-deps.sh).
"""

from __future__ import annotations

import argparse
import json
import re
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


def run_wrk(url: str, connections: int, seconds: int, script: Path | None) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        command += ["-s", str(script)]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", output, re.MULTILINE))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "requests_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50_ms": to_ms(latency["50"]),
        "p99_ms": to_ms(latency["99"]),
        "non_2xx": int(errors.group(1)) if errors else 0,
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
        run_wrk(f"{base}/health", args.connections, 2, None)  # warm both workers
        run_wrk(f"{base}/calculate", args.connections, 2, script)
        run_wrk(sign_url, args.connections, 2, tokens("warm", 2))
        rounds = []
        for number in range(args.rounds):
            order_sign = tokens(f"sign-{number}", args.seconds)  # signed before the round
            rounds.append(
                {
                    # order-sign right after health: the pair sees the same machine load
                    "health": run_wrk(f"{base}/health", args.connections, args.seconds, None),
                    "order-sign": run_wrk(sign_url, args.connections, args.seconds, order_sign),
                    "calculate": run_wrk(
                        f"{base}/calculate", args.connections, args.seconds, script
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
    for number, runs in enumerate(figures["rounds"], start=1):
        print(f"round {number}")
        for name, run in runs.items():
            print(
                f"{name:>10}: {run['requests_per_second']:8.0f} req/s  p50 {run['p50_ms']:6.2f} ms"
                f"  p99 {run['p99_ms']:6.2f} ms  non-2xx {run['non_2xx']}"
            )
        for name, values in ratios.items():
            values.append(runs[name]["requests_per_second"] / runs["health"]["requests_per_second"])
    for name, values in ratios.items():
        shown = ", ".join(f"{v:.0%}" for v in values)
        print(
            f"{name} throughput = {statistics.median(values):.0%} of health (median; rounds: {shown})"
        )


if __name__ == "__main__":
    main()
