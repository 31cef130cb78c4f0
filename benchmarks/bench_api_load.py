"""Load on the real-time detection API: appends per second, latency, errors, server memory.

Starts ``groomwatch serve`` (SQLite in a temporary folder by default; ``--database-url`` for a
given database, ``--postgres`` for a throw-away PostgreSQL cluster like the tests' fixture), a
tenant with a key, and a load generator in a separate process on loopback (asyncio + httpx) that
sends ``--rate`` single-message appends a second, open loop (each at its scheduled time, whatever
the server's speed), spread round-robin over ``--conversations`` concurrent conversations, for
``--seconds``. Prints p50/p95/p99/max latency per append, errors, achieved rate, and the server's
RSS at start, middle and end. Targets: p99 <= 20 ms on SQLite and PostgreSQL, no errors, flat
memory.

    python benchmarks/bench_api_load.py                      # 60 s, 500/s, 1000 conversations
    python benchmarks/bench_api_load.py --postgres
    python benchmarks/bench_api_load.py --seconds 10 --rate 100   # a quick look

The messages are synthetic, neutral sentences (no corpus text).
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import json
import multiprocessing as mp
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SENTENCES = [
    "hi, how was your day?",
    "did you finish the homework for tomorrow",
    "football practice is at five",
    "what game are you playing tonight",
    "my brother borrowed my charger again",
    "see you at the bus stop",
    "you seem really mature for your age",
    "are your parents home right now?",
    "this is just between us ok",
    "add me on another app, it's more private",
    "i can send you a gift card for your game",
    "we should meet on saturday at the park",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A PostgreSQL cluster in a temporary folder on loopback (Debian's packages)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise SystemExit("PostgreSQL is not installed (apt-get install postgresql)")
    bindir = Path(found[-1]).parent
    as_root = os.geteuid() == 0
    workdir = Path(tempfile.mkdtemp(prefix="groomwatch-bench-pg-"))
    port = free_port()
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    if as_root:
        shutil.chown(workdir, "postgres", "postgres")
    data = workdir / "data"
    subprocess.run(
        [
            *prefix,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *prefix,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-l",
            str(workdir / "log"),
            "-o",
            f"-h 127.0.0.1 -p {port} -k {workdir} -c max_connections=200",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        import psycopg

        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True
        ) as conn:
            conn.execute('CREATE DATABASE "bench"')
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/bench"
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(workdir, ignore_errors=True)


def _with_children(pid: int) -> list[int]:
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    return pids


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children (uvicorn workers), in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in _with_children(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total / ticks


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn workers), in MiB."""
    total = 0
    for p in _with_children(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


async def _load(
    url: str, key: str, rate: float, seconds: float, conversations: int, out: Any
) -> None:
    """Open loop: request i is due at t0 + i/rate. 256 senders take the next due request; when
    the server falls behind, requests wait for a sender and that wait counts in ``from_due``
    (no coordinated omission). Requests more than 10 s late are not sent ("skipped")."""
    import httpx

    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    service: list[float] = []
    from_due: list[float] = []
    errors: dict[str, int] = {}
    counter = [0] * conversations
    total = int(rate * seconds)
    t0 = time.perf_counter() + 0.5
    state = {"next": 0, "skipped": 0}

    async with httpx.AsyncClient(
        base_url=url, limits=limits, timeout=10, headers={"Authorization": f"Bearer {key}"}
    ) as client:

        async def sender() -> None:
            while state["next"] < total:
                i = state["next"]
                state["next"] += 1
                due = t0 + i / rate
                now = time.perf_counter()
                if due > now:
                    await asyncio.sleep(due - now)
                elif now - due > 10:
                    state["skipped"] += 1
                    continue
                c = i % conversations
                n = counter[c]
                counter[c] += 1
                body = {
                    "messages": [
                        {
                            "author": f"user-{c}-{n % 2}",
                            "text": SENTENCES[(c + n) % len(SENTENCES)],
                            "id": f"m{n}",
                        }
                    ]
                }
                start = time.perf_counter()
                try:
                    r = await asyncio.wait_for(
                        client.post(f"/v1/conversations/bench-{c}/messages", json=body), 15
                    )
                    ok = r.status_code == 200
                    kind = str(r.status_code)
                except (httpx.HTTPError, TimeoutError) as exc:
                    ok, kind = False, type(exc).__name__
                done = time.perf_counter()
                if ok:
                    service.append(done - start)
                    from_due.append(done - due)
                else:
                    errors[kind] = errors.get(kind, 0) + 1

        await asyncio.gather(*(sender() for _ in range(256)))
        elapsed = time.perf_counter() - t0
    if state["skipped"]:
        errors["skipped (over 10 s late)"] = state["skipped"]
    out.put(
        {
            "latencies": service,
            "from_due": from_due,
            "errors": errors,
            "sent": total - state["skipped"],
            "elapsed": elapsed,
        }
    )


def _load_process(
    url: str, key: str, rate: float, seconds: float, conversations: int, out: Any
) -> None:
    asyncio.run(_load(url, key, rate, seconds, conversations, out))


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def run(args: argparse.Namespace, database_url: str, workdir: Path) -> dict[str, Any]:
    from groomwatch.db import create_db_engine, make_session_factory, upgrade_database
    from groomwatch.server.tenants import create_tenant, get_tenant_by_name

    upgrade_database(database_url)
    engine = create_db_engine(database_url)
    with make_session_factory(engine)() as session:
        issued = create_tenant(session, "bench")
        get_tenant_by_name(session, "bench").rate_limit = 1e6  # measure the service, not limits
        session.commit()
    engine.dispose()

    port = free_port()
    env = {
        **os.environ,
        "GROOMWATCH_DATABASE_URL": database_url,
        "GROOMWATCH_DATA_DIR": str(workdir),
        "GROOMWATCH_ENV": "development",
        "GROOMWATCH_LOG_LEVEL": args.log_level,
    }
    log = (workdir / "server.log").open("wb")
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from groomwatch.cli import main; main()",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
        ],
        env=env,
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        import httpx

        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"server did not start; see {workdir / 'server.log'}")
            time.sleep(0.2)
        rss = {"start": rss_mib(server.pid)}
        cpu_start = cpu_seconds(server.pid)
        queue: Any = mp.get_context("spawn").Queue()
        gen = mp.get_context("spawn").Process(
            target=_load_process,
            args=(url, issued.key, args.rate, args.seconds, args.conversations, queue),
        )
        gen.start()
        time.sleep(args.seconds / 2)
        rss["middle"] = rss_mib(server.pid)
        load_middle = os.getloadavg()
        result = queue.get(timeout=args.seconds * 10 + 120)
        gen.join(30)
        rss["end"] = rss_mib(server.pid)
        cpu_used = cpu_seconds(server.pid) - cpu_start
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    lat = result["latencies"]
    return {
        "database": database_url.split(":")[0].split("+")[0],
        "workers": args.workers,
        "seconds": args.seconds,
        "target_rate": args.rate,
        "conversations": args.conversations,
        "sent": result["sent"],
        "ok": len(lat),
        "errors": result["errors"],
        "achieved_rate": round(len(lat) / result["elapsed"], 1),
        "latency_ms": {
            "p50": round(_pct(lat, 50) * 1000, 2),
            "p95": round(_pct(lat, 95) * 1000, 2),
            "p99": round(_pct(lat, 99) * 1000, 2),
            "max": round(max(lat) * 1000, 2) if lat else None,
            "mean": round(statistics.fmean(lat) * 1000, 2) if lat else None,
        },
        "from_due_ms": {
            "p50": round(_pct(result["from_due"], 50) * 1000, 2),
            "p99": round(_pct(result["from_due"], 99) * 1000, 2),
        },
        "server_rss_mib": {k: round(v, 1) for k, v in rss.items()},
        "server_cpu_ms_per_append": round(cpu_used * 1000 / len(lat), 2) if lat else None,
        "load_average_middle": load_middle,
        "load_average_end": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=500.0, help="appends a second")
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--postgres", action="store_true", help="start a throw-away cluster")
    parser.add_argument("--log-level", default="INFO", help="the server's (INFO: access log on)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="groomwatch-bench-api-"))
    try:
        if args.postgres:
            with throwaway_postgres() as url:
                figures = run(args, url, workdir)
        else:
            url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
            figures = run(args, url, workdir)
        if figures["errors"]:
            lines = (workdir / "server.log").read_text(errors="replace").splitlines()
            print("server log (last lines):", *lines[-15:], sep="\n", file=sys.stderr)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        print(json.dumps(figures))
    else:
        for k, v in figures.items():
            print(f"{k:>22}: {v}")
    return 0 if not figures["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
