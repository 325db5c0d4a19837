"""deploy/nginx.conf on loopback, for the two-instance test and the load scripts.

The production file is served with only what a loopback run must change: plain http on a free
port instead of TLS on 443, the instances' loopback ports instead of theirs, the run's own pid,
log and temporary folders. Every other directive (buffering, body size, timeouts, the JSON error
pages, the banner) is the production one; tests/test_proxy.py checks that nothing else differs.
Only 127.0.0.1 is ever bound. Needs Debian's nginx (scripts/system-deps.sh).
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve import free_port  # noqa: E402
from services import wait_for_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "deploy" / "nginx.conf"
UPSTREAM = "actemra_instances"
_UPSTREAM_BLOCK = re.compile(r"^upstream actemra_instances \{\n(?P<body>.*?)^\}\n", re.M | re.S)
_SERVER_BLOCK = re.compile(r"^server \{\n.*?^\}\n", re.M | re.S)


def nginx() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None
    )
    if not found:
        raise RuntimeError("Debian's nginx is not installed (scripts/system-deps.sh)")
    return found


@dataclass(frozen=True)
class Route:
    """One loopback port of the proxy and the instance ports it passes to."""

    port: int
    instances: Sequence[int]
    pid: int = 0  # the nginx master serving it, once started

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _one(pattern: str, replacement: str, text: str) -> str:
    changed, count = re.subn(pattern, replacement, text, flags=re.M)
    if count != 1:
        raise ValueError(f"deploy/nginx.conf: expected one {pattern!r}, found {count}")
    return changed


def site(routes: Sequence[Route], source: str | None = None) -> str:
    """The http-context part: the production file with loopback ports, one server per route."""
    text = CONFIG.read_text() if source is None else source
    upstream = _UPSTREAM_BLOCK.search(text)
    if upstream is None:
        raise ValueError("deploy/nginx.conf: no upstream actemra_instances block")
    kept = [
        line for line in upstream["body"].splitlines() if not line.strip().startswith("server ")
    ]
    upstreams = "".join(
        f"upstream {UPSTREAM}_{number} {{\n"
        + "".join(f"    server 127.0.0.1:{port};\n" for port in route.instances)
        + "".join(f"{line}\n" for line in kept)
        + "}\n"
        for number, route in enumerate(routes)
    )
    servers = _SERVER_BLOCK.findall(text)
    tls = [block for block in servers if re.search(r"^\s+listen 443 ", block, re.M)]
    if len(tls) != 1:
        raise ValueError("deploy/nginx.conf: expected one server listening on 443")
    rendered = []
    for number, route in enumerate(routes):
        block = _one(r"^    listen 443 ssl http2;$", f"    listen 127.0.0.1:{route.port};", tls[0])
        block = _one(r"^    server_name .*$", "    server_name 127.0.0.1 localhost;", block)
        block = _one(r"^    ssl_certificate .*\n", "", block)
        block = _one(r"^    ssl_certificate_key .*\n", "", block)
        block = block.replace(f"http://{UPSTREAM};", f"http://{UPSTREAM}_{number};")
        rendered.append(block)
    # The port-80 redirect has no loopback use; the maps and comments stay as they are.
    outside = _SERVER_BLOCK.sub("", _UPSTREAM_BLOCK.sub("", text))
    return upstreams + outside + "".join(rendered)


def main_config(routes: Sequence[Route], folder: Path) -> str:
    """A whole nginx.conf around site(): what Debian's /etc/nginx/nginx.conf provides there."""
    # As root (a CI container), nginx's workers would otherwise switch to nobody, who cannot
    # write the run's folder; loopback test runs only.
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "".join(
        f"    {kind}_temp_path {folder / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}worker_processes 1;\npid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'error.log'} warn;\n"
        "events { worker_connections 1024; }\n"
        "http {\n    access_log off;\n" + temp + site(routes) + "}\n"
    )


def check(config: Path, folder: Path) -> None:
    """`nginx -t`: the configuration parses and every directive exists in this nginx."""
    done = subprocess.run(
        [
            nginx(),
            "-t",
            "-q",
            "-p",
            str(folder),
            "-c",
            str(config),
            "-e",
            str(folder / "error.log"),
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"nginx -t refused the configuration:\n{done.stderr}")


@contextmanager
def proxy(*instances: Sequence[int]) -> Iterator[list[Route]]:
    """nginx in front of each group of instance ports, one free loopback port per group."""
    routes = [Route(port=free_port(), instances=list(ports)) for ports in instances]
    with tempfile.TemporaryDirectory(prefix="actemra-nginx-") as tmp:
        folder = Path(tmp)
        config = folder / "nginx.conf"
        config.write_text(main_config(routes, folder))
        check(config, folder)
        process = subprocess.Popen(
            [nginx(), "-p", str(folder), "-c", str(config), "-e", str(folder / "error.log"),
             "-g", "daemon off;"],
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            for route in routes:
                wait_for_port(route.port, up=True)
            yield [dataclasses.replace(route, pid=process.pid) for route in routes]
        finally:
            process.terminate()  # nginx's fast shutdown
            process.wait(timeout=10)


def cpu_seconds(master: int) -> float:
    """User + system CPU of the nginx master `master` and its workers (Linux /proc)."""
    ticks = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(pid) == master or int(fields[1]) == master:  # fields[1]: the parent
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")
