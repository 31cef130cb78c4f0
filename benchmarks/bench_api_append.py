"""CPU per append of the real-time API, in process: the ASGI application driven directly.

The load benchmark (``bench_api_load.py``) measures latency on loopback, where the server, the
load generator (and PostgreSQL) share the cores, so its figures move with everything else on the
machine. This one takes the sockets and the HTTP server out and measures what the application
itself costs an append: the ASGI middleware, the fast path, the detector's update, the database
writes and commit, the access log and the metrics (and, in the same process, the webhook
thread's work for the conversations that alert). It sends the load benchmark's kind of requests:
single-message appends with a client id, round-robin over ``--conversations`` conversations, the
same synthetic, neutral sentences, so that the same share of conversations fires its warning.

    python benchmarks/bench_api_append.py                   # SQLite in a temporary folder
    python benchmarks/bench_api_append.py --database-url postgresql+psycopg://...
    python benchmarks/bench_api_append.py --postgres        # a throw-away PostgreSQL cluster
    python benchmarks/bench_api_append.py --profile 40      # cProfile, the top 40 by cumulative

Prints the process CPU time per append (user + system) over ``--appends`` appends, after a
warm-up round that creates every conversation (with ``--postgres``, also the CPU time of the
throw-away PostgreSQL server per append).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from bench_api_load import (  # the same messages as the load benchmark
    SENTENCES,
    postgres_cpu_seconds,
    throwaway_postgres,
)


def _body(conversation: int, n: int) -> bytes:
    message = {
        "author": f"user-{conversation}-{n % 2}",
        "text": SENTENCES[(conversation + n) % len(SENTENCES)],
        "id": f"m{n}",
    }
    return json.dumps({"messages": [message]}).encode()


async def _call(app: Any, path: str, body: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    """One request through the ASGI application; returns the status code."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [*headers, (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    await app(scope, receive, send)
    return int(sent[0]["status"])


class _GcTimer:
    """Time spent in the cyclic garbage collector (all generations), from ``gc.callbacks``."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = 0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.collections += 1


async def _run(args: argparse.Namespace, url: str, workdir: Path) -> dict[str, Any]:
    from groomwatch.db import create_db_engine, make_session_factory, upgrade_database
    from groomwatch.server.app import create_app
    from groomwatch.server.tenants import create_tenant, get_tenant_by_name
    from groomwatch.settings import Settings

    upgrade_database(url)
    engine = create_db_engine(url)
    with make_session_factory(engine)() as session:
        name = f"bench-{os.getpid()}-{time.time_ns()}"  # a database may be reused
        key = create_tenant(session, name).key
        get_tenant_by_name(session, name).rate_limit = 1e6
        session.commit()
    engine.dispose()
    settings = Settings(
        env="test",
        secret_key="x" * 48,
        data_dir=workdir,
        database_url=url,
        log_level=args.log_level,
        api_monitor_cache_size=args.cache,
    )
    app = create_app(settings)
    headers = [
        (b"host", b"bench"),
        (b"authorization", f"Bearer {key}".encode()),
        (b"content-type", b"application/json"),
    ]
    counter = [0] * args.conversations

    async def one(i: int) -> None:
        c = i % args.conversations
        n = counter[c]
        counter[c] += 1
        status = await _call(app, f"/v1/conversations/bench-{c}/messages", _body(c, n), headers)
        if status != 200:
            raise SystemExit(f"append answered {status}")

    async with app.router.lifespan_context(app):
        for i in range(args.conversations):  # warm-up: every conversation created
            await one(i)
        profile = cProfile.Profile() if args.profile else None
        gc_timer = _GcTimer()
        gc.callbacks.append(gc_timer)
        pg0 = postgres_cpu_seconds()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        if profile is not None:
            profile.enable()
        for i in range(args.appends):
            await one(i)
        if profile is not None:
            profile.disable()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        pg1 = postgres_cpu_seconds()
        gc.callbacks.remove(gc_timer)
    if profile is not None:
        pstats.Stats(profile, stream=sys.stdout).sort_stats(args.sort).print_stats(args.profile)
    return {
        "database": url.split(":")[0].split("+")[0],
        "appends": args.appends,
        "conversations": args.conversations,
        "cpu_ms_per_append": round(cpu * 1000 / args.appends, 3),
        "wall_ms_per_append": round(wall * 1000 / args.appends, 3),
        "postgres_cpu_ms_per_append": None
        if pg0 is None or pg1 is None
        else round((pg1 - pg0) * 1000 / args.appends, 3),
        "gc_ms_per_append": round(gc_timer.seconds * 1000 / args.appends, 3),
        "gc_collections": gc_timer.collections,
        "profiled": bool(args.profile),
        "load_average": os.getloadavg(),
    }


def _quietly(args: argparse.Namespace, url: str, workdir: Path) -> dict[str, Any]:
    with open(os.devnull, "w") as devnull:
        # The access log's JSON lines go to stderr: written (they are part of an append's
        # cost) but not shown.
        stderr, sys.stderr = sys.stderr, devnull
        try:
            return asyncio.run(_run(args, url, workdir))
        finally:
            sys.stderr = stderr


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp folder")
    parser.add_argument("--postgres", action="store_true", help="start a throw-away cluster")
    parser.add_argument("--appends", type=int, default=6000)
    parser.add_argument("--conversations", type=int, default=300)
    parser.add_argument("--profile", type=int, default=0, help="print the top N functions")
    parser.add_argument(
        "--cache",
        type=int,
        default=1024,
        help="detectors kept per process (0: every append restores the stored state, as when "
        "another worker served the conversation's last append)",
    )
    parser.add_argument("--log-level", default="INFO", help="INFO: the access log on")
    parser.add_argument("--sort", default="cumulative", help="profile order (e.g. tottime)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="groomwatch-bench-append-"))
    try:
        if args.postgres:
            with throwaway_postgres() as url:
                figures = _quietly(args, url, workdir)
        else:
            url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
            figures = _quietly(args, url, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        print(json.dumps(figures))
    else:
        for k, v in figures.items():
            print(f"{k:>20}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
