"""What the HTTP benchmarks share: the yardstick, wrk, and the project served on PostgreSQL.

``bench/http_load.py`` (issue 15's table) and ``bench/load_stack.py`` (the whole-stack load test)
both start the same way: the yardstick (``$OMNIHUB_SHARED_DIR/bench/yardstick/run.sh``,
``../shared`` beside the checkout by default), a dedicated PostgreSQL database migrated and
seeded with the small demo, and the project under ``config.settings.production`` served by gunicorn
(``config/gunicorn.conf.py``). Not a module of the project: the bench scripts import it from their
own directory.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"


# --- wrk and the yardstick ------------------------------------------------------------------------


@dataclass
class Figure:
    label: str
    rate: float
    p50_ms: float
    p99_ms: float
    non2xx: int
    statuses: dict[int, int]

    def line(self, yardstick: Figure | None) -> str:
        ratio = (
            f"{self.rate / yardstick.rate * 100:5.1f} %"
            if yardstick and yardstick.rate
            else "   n/a"
        )
        return (
            f"| {self.label:44} | {self.rate:8.1f} | {self.p50_ms:7.1f} ms | {self.p99_ms:7.1f} ms "
            f"| {self.non2xx:6d} | {ratio} |"
        )


def _ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    if not match:
        raise ValueError(f"cannot read wrk latency {value!r}")
    number, unit = float(match.group(1)), match.group(2)
    return number * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(label: str, output: str) -> Figure:
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    non2xx_match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    statuses = {int(c): int(n) for c, n in re.findall(r"^status (\d+) (\d+)$", output, re.M)}
    non2xx = int(non2xx_match.group(1)) if non2xx_match else 0
    return Figure(label, rate, p50, p99, non2xx, statuses)


def wrk_path() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is not installed: installing it from the Debian packages (apt-get install wrk)")
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True)
        found = shutil.which("wrk")
        if found:
            return found
    raise SystemExit("wrk is needed (apt-get install wrk) and could not be installed.")


def run_wrk(
    wrk: str, *, url: str, script: Path, seconds: float, connections: int, threads: int
) -> str:
    command = [
        wrk,
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def shared_dir() -> Path:
    return Path(os.environ.get("OMNIHUB_SHARED_DIR") or ROOT.parent / "shared")


def run_yardstick(*, seconds: float, connections: int, workers: int) -> Figure:
    script = shared_dir() / "bench" / "yardstick" / "run.sh"
    if not script.exists():
        raise SystemExit(
            f"The yardstick is missing: no {script}. Set OMNIHUB_SHARED_DIR to the shared "
            "directory (default: ../shared beside the checkout)."
        )
    # a free port, not run.sh's fixed default: another benchmark may be serving on it;
    done = subprocess.run(
        [
            "bash",
            str(script),
            str(PYTHON),
            str(max(1, round(seconds))),
            str(connections),
            str(workers),
        ],
        capture_output=True,
        text=True,
        # its own settings, even when this process has set up the project's
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "settings",
            "YARDSTICK_PORT": str(free_port()),
        },
    )
    if done.returncode != 0:
        raise SystemExit(
            f"The yardstick failed (exit {done.returncode}; another run may be using its "
            f"database):\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    output = done.stdout
    match = re.search(r"yardstick: ([\d.]+) req/s p50 (\S+) p99 (\S+) non2xx (\d+)", output)
    if not match:
        raise SystemExit(f"The yardstick printed no figure:\n{output}")
    if float(match.group(1)) == 0:
        raise SystemExit(
            "The yardstick served nothing (0 req/s): its gunicorn was not up when wrk started "
            "(run.sh waits 3 s; workers boot slower on a loaded machine). Re-run when the "
            f"machine is quieter (load average now {os.getloadavg()[0]:.1f})."
        )
    return Figure(
        "yardstick `POST /api/reserve/`",
        float(match.group(1)),
        _ms(match.group(2)),
        _ms(match.group(3)),
        int(match.group(4)),
        {},
    )


def wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"nothing answered on port {port} within {timeout:.0f} s")


# --- the project under production settings -------------------------------------------------------


def project_env(*, db: str, redis: str, workers: int, threads: int = 1) -> dict[str, str]:
    """The environment of every process of the served project (gunicorn, Celery, manage.py)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "bench-only-" + "k" * 40,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db}",
        "REDIS_URL": redis,
        "LOG_LEVEL": "WARNING",
        "GUNICORN_WORKERS": str(workers),
        "GUNICORN_THREADS": str(threads),
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def prepare_database(*, db: str, env: dict[str, str], seed: bool = True) -> None:
    """Create ``db`` when missing, migrate it and (unless ``seed`` is off) upsert the small demo."""
    exists = subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-tAc",
            f"SELECT 1 FROM pg_database WHERE datname = '{db}'",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if not exists:
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", db], check=True)
    manage = [str(PYTHON), str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], check=True, env=env, cwd=ROOT)
    if seed:
        subprocess.run(
            [*manage, "seed_demo", "--size", "small"],
            check=True,
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


def collect_static(env: dict[str, str]) -> None:
    """``collectstatic`` into ``STATIC_ROOT``: production settings serve the admin's CSS through
    a manifest, and a page rendered without it is a 500."""
    subprocess.run(
        [str(PYTHON), str(ROOT / "manage.py"), "collectstatic", "--noinput", "-v0"],
        check=True,
        env=env,
        cwd=ROOT,
    )


def django_setup(env: dict[str, str]) -> None:
    os.environ.update(
        {k: v for k, v in env.items() if k not in ("GUNICORN_WORKERS", "GUNICORN_THREADS")}
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_gunicorn(
    env: dict[str, str], port: int, *, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """gunicorn with ``config/gunicorn.conf.py`` on ``port``, once it answers ``/healthz`` (any
    status). Its output goes to ``log`` when given, else to this process's."""
    output = open(log, "ab") if log else None  # noqa: SIM115 (the server keeps it)
    server = subprocess.Popen(
        [
            str(GUNICORN),
            "-c",
            str(ROOT / "config" / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "config.wsgi",
        ],
        cwd=ROOT,
        env=env,
        stdout=output,
        stderr=output,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("gunicorn did not start")
        try:
            probe = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            probe.request("GET", "/healthz")
            probe.getresponse().read()
            return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not answer /healthz")


def worker_rss_mib(master_pid: int) -> list[float]:
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    rss = []
    for pid in children:
        status = Path(f"/proc/{pid}/status").read_text()
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        if match:
            rss.append(int(match.group(1)) / 1024)
    return rss
