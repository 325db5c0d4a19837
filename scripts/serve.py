"""The production app under gunicorn on loopback, on its own freshly migrated SQLite file.

Shared by the browser tests, the load benchmark and the Lighthouse run, so all three measure the
same thing a deployment serves: DEBUG off, whitenoise, hashed static files, the real headers.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Server:
    url: str
    env: dict[str, str]

    def manage(self, *args: str) -> str:
        """A management command against the served database (content edits go through here)."""
        done = subprocess.run(
            [BIN / "python", "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def production_server(
    *,
    host: str = "127.0.0.1",
    workers: int = 2,
    threads: int = 4,
    log: Path | None = None,
    **settings: str,
) -> Iterator[Server]:
    """Serves until the block ends; `settings` are extra environment variables (DJANGO_*,
    DATABASE_URL, REDIS_URL); `log` receives gunicorn's and the app's log lines."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1",
            "DJANGO_SECURE_SSL_REDIRECT": "0",  # plain http on loopback
            "DJANGO_SECURE_HSTS_SECONDS": "0",
            "DATABASE_URL": f"sqlite:///{tmp}/served.sqlite3",
            **settings,
        }
        port = free_port()
        server = Server(url=f"http://{host}:{port}", env=env)
        server.manage("migrate", "--noinput", "-v0")
        log_file = log.open("a") if log else None
        process = subprocess.Popen(
            [BIN / "gunicorn", "actemra_site.wsgi", f"--bind=127.0.0.1:{port}",
             f"--workers={workers}", f"--threads={threads}", "--log-level=warning"],
            cwd=ROOT,
            env=env,
            stderr=log_file,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(f"{server.url}/api/v1/health", timeout=2)  # noqa: S310
                    break
                except OSError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise RuntimeError("gunicorn did not start") from None
                    time.sleep(0.1)
            yield server
        finally:
            process.terminate()
            process.wait(timeout=10)
            if log_file:
                log_file.close()
