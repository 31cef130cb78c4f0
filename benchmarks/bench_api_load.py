"""Load on the real-time detection API: appends per second, latency, errors, server memory.

Starts ``groomwatch serve`` (SQLite in a temporary folder by default; ``--database-url`` for a
given database, ``--postgres`` for a throw-away PostgreSQL cluster like the tests' fixture), a
tenant with a key, and a load generator in a separate process on loopback (asyncio, a minimal
HTTP/1.1 client on keep-alive connections) that sends ``--rate`` single-message appends a second,
open loop (each at its scheduled time, whatever the server's speed), spread round-robin over
``--conversations`` concurrent conversations, for ``--seconds``. Prints p50/p95/p99/max latency
per append (and p99 in each tenth of the run), errors, achieved rate, the server's RSS at start,
after the warm-up (the first tenth of the run), at the end of each tenth and at the end, and
the CPU per request of the server and of the generator. Targets: p99 <= 20 ms
on SQLite and PostgreSQL, no errors, flat memory.

    python benchmarks/bench_api_load.py                      # 60 s, 500/s, 1000 conversations
    python benchmarks/bench_api_load.py --postgres
    python benchmarks/bench_api_load.py --postgres --pg-warm-wal 48   # WAL recycled (steady state)
    python benchmarks/bench_api_load.py --postgres --processes 2   # 2 serve processes, 2 ports
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
from collections.abc import Iterator, Sequence
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


_POSTMASTER_PID = [0]  # of the throw-away cluster, while it runs


def postgres_cpu_seconds() -> float | None:
    """CPU time of the throw-away PostgreSQL server: the postmaster, its running processes and
    those it has reaped (``cutime``/``cstime``), in seconds; None without one."""
    pid = _POSTMASTER_PID[0]
    if not pid:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    except (OSError, ValueError):
        return None
    for child in _with_children(pid)[1:]:
        try:
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / ticks


@contextmanager
def throwaway_postgres(settings: Sequence[str] = (), warm_wal_segments: int = 0) -> Iterator[str]:
    """A PostgreSQL cluster in a temporary folder on loopback (Debian's packages).

    ``warm_wal_segments``: write that many write-ahead-log segments (16 MiB each) and checkpoint
    before yielding, so that the run finds recycled segments as a server that has been up for a
    while does; a fresh cluster instead creates (zero-fills and syncs) a new segment every few
    seconds of load, inside some commit."""
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
            f"-h 127.0.0.1 -p {port} -k {workdir} -c max_connections=200"
            + "".join(f" -c {setting}" for setting in settings),
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
            if warm_wal_segments:
                conn.execute("CREATE TABLE warm_wal (x int)")
                for i in range(warm_wal_segments):
                    conn.execute("INSERT INTO warm_wal VALUES (%s)", (i,))
                    conn.execute("SELECT pg_switch_wal()")
                conn.execute("DROP TABLE warm_wal")
                conn.execute("CHECKPOINT")
        _POSTMASTER_PID[0] = int((data / "postmaster.pid").read_text().split()[0])
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


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU time of a process and its children (uvicorn workers), in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    user = system = 0
    for p in _with_children(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            user += int(fields[11])  # utime
            system += int(fields[12])  # stime
        except (OSError, IndexError, ValueError):
            pass
    return user / ticks, system / ticks


def _total_rss(pids: list[int]) -> float:
    return sum(rss_mib(pid) for pid in pids)


def _total_cpu(pids: list[int]) -> tuple[float, float]:
    user = system = 0.0
    for pid in pids:
        u, s = cpu_seconds(pid)
        user, system = user + u, system + s
    return user, system


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


class _Connection:
    """A minimal HTTP/1.1 keep-alive client connection: write a request, read the status line,
    the headers and a ``Content-Length`` body. The generator must cost far less CPU than the
    server it measures, on the same two cores: httpx's client with 256 pooled connections cost
    ~12 ms of CPU a request here, so the generator, not the server, set the achieved rate."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, data: bytes) -> int:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(data)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        close = False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        if length:
            await self.reader.readexactly(length)
        if close:
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _load(
    urls: list[str], key: str, rate: float, seconds: float, conversations: int, out: Any
) -> None:
    """Open loop: request i is due at t0 + i/rate. 256 senders, one keep-alive connection each,
    take the next due request; when the server falls behind, requests wait for a sender and that
    wait counts in ``from_due`` (no coordinated omission). Requests more than 10 s late are not
    sent ("skipped"). ``latencies`` run from writing the request to reading the whole answer.
    With several ``urls`` (``--processes``), sender ``k`` connects to ``urls[k % len(urls)]``."""
    addresses = [u.split("//", 1)[1].rsplit(":", 1) for u in urls]
    host, port = addresses[0]  # the Host header (the same server behind every port)
    service: list[float] = []
    from_due: list[float] = []
    started: list[float] = []
    errors: dict[str, int] = {}
    counter = [0] * conversations
    total = int(rate * seconds)
    state = {"next": 0, "skipped": 0}
    head = (
        f"Host: {host}:{port}\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\n"
    ).encode()

    # Every request built before the clock starts: the generator shares the cores with the
    # server it measures, so the timed loop only writes bytes and reads answers.
    requests: list[bytes] = []
    for i in range(total):
        c = i % conversations
        n = counter[c]
        counter[c] += 1
        body = json.dumps(
            {
                "messages": [
                    {
                        "author": f"user-{c}-{n % 2}",
                        "text": SENTENCES[(c + n) % len(SENTENCES)],
                        "id": f"m{n}",
                    }
                ]
            }
        ).encode()
        requests.append(
            b"".join(
                (
                    f"POST /v1/conversations/bench-{c}/messages HTTP/1.1\r\n".encode(),
                    head,
                    f"Content-Length: {len(body)}\r\n\r\n".encode(),
                    body,
                )
            )
        )
    t0 = time.perf_counter() + 0.5
    out.put({"starting": True})  # the clock starts in 0.5 s

    async def sender(k: int) -> None:
        host, port = addresses[k % len(addresses)]
        conn = _Connection(host, int(port))
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
            data = requests[i]
            start = time.perf_counter()
            try:
                async with asyncio.timeout(15):
                    status = await conn.request(data)
                ok = status == 200
                kind = str(status)
            except (OSError, asyncio.IncompleteReadError, ValueError, TimeoutError) as exc:
                conn.close()
                ok, kind = False, type(exc).__name__
            done = time.perf_counter()
            if ok:
                service.append(done - start)
                from_due.append(done - due)
                started.append(start - t0)
            else:
                errors[kind] = errors.get(kind, 0) + 1
        conn.close()

    await asyncio.gather(*(sender(k) for k in range(256)))
    elapsed = time.perf_counter() - t0
    if state["skipped"]:
        errors["skipped (over 10 s late)"] = state["skipped"]
    out.put(
        {
            "latencies": service,
            "from_due": from_due,
            "started": started,
            "errors": errors,
            "sent": total - state["skipped"],
            "elapsed": elapsed,
        }
    )


def _load_process(
    urls: list[str], key: str, rate: float, seconds: float, conversations: int, out: Any
) -> None:
    try:
        import uvloop  # the server's loop too (uvicorn[standard])

        uvloop.run(_load(urls, key, rate, seconds, conversations, out))
    except ImportError:
        asyncio.run(_load(urls, key, rate, seconds, conversations, out))


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def _by_tenth(latencies: list[float], started: list[float], seconds: float) -> list[float]:
    """p99 latency in each tenth of the run (warm-up and drift show here)."""
    tenths: list[list[float]] = [[] for _ in range(10)]
    for lat, at in zip(latencies, started, strict=True):
        tenths[min(9, max(0, int(at / seconds * 10)))].append(lat)
    return [round(_pct(t, 99) * 1000, 1) for t in tenths]


def postgres_wal(database_url: str) -> dict[str, int] | None:
    """The write-ahead log's position (bytes), its segment files, the checkpoints so far and the
    database's autovacuum and autoanalyze runs, of a PostgreSQL database (None for others): what
    a run wrote, whether it created segments, and what PostgreSQL ran beside the appends."""
    if not database_url.startswith("postgresql"):
        return None
    import psycopg

    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as conn:
        row = conn.execute(
            "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn, (SELECT count(*) FROM pg_ls_waldir()),"
            " checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter"
        ).fetchone()
        vacuums = conn.execute(
            "SELECT coalesce(sum(autovacuum_count), 0), coalesce(sum(autoanalyze_count), 0)"
            " FROM pg_stat_user_tables"
        ).fetchone()
    assert row is not None
    assert vacuums is not None
    return {
        "lsn": int(row[0]),
        "segments": int(row[1]),
        "checkpoints": int(row[2]),
        "autovacuums": int(vacuums[0]),
        "autoanalyzes": int(vacuums[1]),
    }


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

    env = {
        **os.environ,
        "GROOMWATCH_DATABASE_URL": database_url,
        "GROOMWATCH_DATA_DIR": str(workdir),
        "GROOMWATCH_ENV": "development",
        "GROOMWATCH_LOG_LEVEL": args.log_level,
    }
    # One ``serve`` (with its --workers) per process, each on its own port; the generator's
    # connections are spread evenly over the ports (``--processes``).
    ports = [free_port() for _ in range(args.processes)]
    logs = [
        (workdir / ("server.log" if i == 0 else f"server-{i}.log")).open("wb")
        for i in range(args.processes)
    ]
    servers = [
        subprocess.Popen(
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
        for port, log in zip(ports, logs, strict=True)
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    pids = [server.pid for server in servers]
    try:
        import httpx

        deadline = time.monotonic() + 120
        for url, server in zip(urls, servers, strict=True):
            while True:
                try:
                    if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"server did not start; see the logs in {workdir}")
                time.sleep(0.2)
        rss = {"start": _total_rss(pids)}
        cpu_start = _total_cpu(pids)
        pg_start = postgres_cpu_seconds()
        wal_start = postgres_wal(database_url)
        queue: Any = mp.get_context("spawn").Queue()
        gen = mp.get_context("spawn").Process(
            target=_load_process,
            args=(urls, issued.key, args.rate, args.seconds, args.conversations, queue),
        )
        gen.start()
        # RSS at the end of every tenth of the run: the first tenth is the warm-up (every
        # conversation created, every worker's detectors restored), after which memory should
        # stay flat (the detector cache is bounded).
        queue.get(timeout=120)  # the generator has built its requests
        began = time.perf_counter() + 0.5  # the generator's t0
        by_tenth: list[float] = []
        load_middle = os.getloadavg()
        for tenth in range(1, 11):
            time.sleep(max(0.0, began + args.seconds * tenth / 10 - time.perf_counter()))
            by_tenth.append(round(_total_rss(pids), 1))
            if tenth == 5:
                load_middle = os.getloadavg()
        rss["after_warmup"] = by_tenth[0]
        rss["middle"] = by_tenth[4]
        result = queue.get(timeout=args.seconds * 10 + 120)
        gen_cpu = sum(cpu_seconds(gen.pid)) if gen.pid is not None else float("nan")
        gen.join(30)
        rss["end"] = _total_rss(pids)
        cpu_end = _total_cpu(pids)
        pg_end = postgres_cpu_seconds()
        wal_end = postgres_wal(database_url)
        cpu_user, cpu_system = (end - start for end, start in zip(cpu_end, cpu_start, strict=True))
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
        for server in servers:
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
        for log in logs:
            log.close()
    lat = result["latencies"]
    return {
        "database": database_url.split(":")[0].split("+")[0],
        "processes": args.processes,
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
        "p99_ms_by_tenth": _by_tenth(lat, result["started"], args.seconds),
        "from_due_ms": {
            "p50": round(_pct(result["from_due"], 50) * 1000, 2),
            "p99": round(_pct(result["from_due"], 99) * 1000, 2),
        },
        "server_rss_mib": {k: round(v, 1) for k, v in rss.items()},
        "server_rss_mib_by_tenth": by_tenth,
        "rss_growth_after_warmup_mib": round(rss["end"] - rss["after_warmup"], 1),
        "rss_growth_second_half_mib": round(rss["end"] - rss["middle"], 1),
        "server_cpu_ms_per_append": round((cpu_user + cpu_system) * 1000 / len(lat), 2)
        if lat
        else None,
        "server_cpu_user_system_ms": [
            round(cpu_user * 1000 / len(lat), 2) if lat else None,
            round(cpu_system * 1000 / len(lat), 2) if lat else None,
        ],
        "postgres_cpu_ms_per_append": round((pg_end - pg_start) * 1000 / len(lat), 2)
        if lat and pg_start is not None and pg_end is not None
        else None,
        "generator_cpu_ms_per_request": round(gen_cpu * 1000 / result["sent"], 2)
        if result["sent"]
        else None,
        "postgres_wal": None
        if wal_start is None or wal_end is None
        else {
            "written_mib": round((wal_end["lsn"] - wal_start["lsn"]) / 2**20, 1),
            "segment_files_before_after": [wal_start["segments"], wal_end["segments"]],
            "checkpoints_during_run": wal_end["checkpoints"] - wal_start["checkpoints"],
            "autovacuums_during_run": wal_end["autovacuums"] - wal_start["autovacuums"],
            "autoanalyzes_during_run": wal_end["autoanalyzes"] - wal_start["autoanalyzes"],
        },
        "load_average_middle": load_middle,
        "load_average_end": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=500.0, help="appends a second")
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of each process")
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="serve processes, each on its own port; connections spread evenly over them",
    )
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--postgres", action="store_true", help="start a throw-away cluster")
    parser.add_argument(
        "--pg-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting of the throw-away cluster (repeatable), e.g. wal_init_zero=off",
    )
    parser.add_argument(
        "--pg-warm-wal",
        type=int,
        default=0,
        metavar="SEGMENTS",
        help="write-ahead-log segments to write and recycle before the run (steady state)",
    )
    parser.add_argument("--log-level", default="INFO", help="the server's (INFO: access log on)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="groomwatch-bench-api-"))
    try:
        if args.postgres:
            with throwaway_postgres(args.pg_setting, args.pg_warm_wal) as url:
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
