"""Benchmark: the web platform under load, and the render time of every dashboard.

    python benchmarks/bench_web.py [--persons 20000] [--clients 200] [--seconds 20] [--warmup 3] [--rate 500]
                                   [--workers 2] [--then 0.8]
                                   [--no-pages] [--profile prof.txt] [--keep]

1. Generates a demo county under benchmarks/data/ (git-ignored; deleted afterwards unless --keep) and starts
   ``yigongti serve`` on it in its own process, on PostgreSQL (the local test server, a scratch schema dropped
   afterwards), "today" pinned inside the switch window.
2. Baseline in the same run: ``submit_choice`` called directly, one after another, in this process (no HTTP).
3. Load: a SECOND process with ``--clients`` concurrent clients on loopback, each a resident with a bearer token
   posting choices for themself (``POST /api/persons/{id}/choices``) for ``--warmup`` seconds (not measured:
   connections opened, statements prepared), then ``--seconds``: requests/s, p50/p99.
   With ``--rate R`` the clients together offer R requests/s, each paced (one request every clients/R seconds),
   and latency counts from when a request was due: with 200 clients posting back to back, latency is only
   clients / throughput (Little's law), so p99 < 100 ms with 200 clients means >= 2,000 requests/s; paced, it
   is the time a request takes at that load.
   With ``--then F`` (and no ``--rate``), a second load on the same server follows the first: paced at F times the
   rate the first one sustained (its ceiling), for the same seconds (issue 21: p99 at 80% of the ceiling).
   Each latency is split: sent late (due -> written, the load process's own delay), in the app (the server's
   ``x-bench-app-us`` header, added by ``web_timing/sitecustomize.py`` on the server's ``PYTHONPATH``: from the
   outermost ASGI layer to the answer's start) and the rest (kernel, the worker's event loop, the client's wake-up).
4. Afterwards a count in the database: every accepted answer is exactly one choice row and the designation of every
   client is its last accepted choice (no choice lost or duplicated).
5. Render time of each page (median of 5) for the insurance bureau and a resident, on the same demo county.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import Progress
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DBAPIError

from yigongti.core.db import DriverStatement, make_engine, make_session_factory
from yigongti.enrollment.choices import SubmitChoice, submit_choice
from yigongti.enrollment.store import ChoiceRow, DesignationRow, PersonRow
from yigongti.enrollment.uow import SqlAlchemyUnitOfWork
from yigongti.platform.accounts import create_user
from yigongti.registry.store import InstitutionRow

ROOT = Path(__file__).resolve().parent
DATA = ROOT / "data"
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TODAY = date(2026, 11, 25)  # the switch window for 2027 is open
YEAR = 2027
PASSWORD = "bench-password-1"
console = Console(width=150)
# an answer: (latency s, HTTP status (0: none), person, choice_id, due at, sent late s, in the app s (NaN: unknown))
Answer = tuple[float, int, str, int, float, float, float]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url + "/login", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise RuntimeError("server did not come up")


def options_for(db_url: str, n: int) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """n residents, one per household (so clients never touch each other's rows), each with two valid choices."""
    engine = make_engine(db_url)
    with engine.connect() as conn:
        heads = conn.execute(select(func.min(PersonRow.person_id)).group_by(PersonRow.household_id)
                             .order_by(func.min(PersonRow.person_id)).limit(n)).scalars().all()
        villages = conn.execute(select(InstitutionRow.inst_id, InstitutionRow.parent_id, InstitutionRow.consortium_id)
                                .where(InstitutionRow.tier == "village").order_by(InstitutionRow.inst_id)).all()
    engine.dispose()
    triples = [(c, t, v) for v, t, c in villages]
    return [(pid, [triples[i % len(triples)], triples[(i * 7 + 3) % len(triples)]]) for i, pid in enumerate(heads)]


def make_accounts(db_url: str, clients: list[tuple[str, list[tuple[str, str, str]]]]) -> None:
    sessions = make_session_factory(make_engine(db_url))
    with sessions.begin() as s:
        for pid, _ in clients:
            create_user(s, username=f"bench-{pid}", password=PASSWORD, role="resident", person_id=pid,
                        now=datetime(2026, 11, 25, 9))


# ------------------------------------------------------------------------------------------- the load process

async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, float]:
    """One HTTP/1.1 response with a Content-Length (what uvicorn sends for JSON): (status, body, seconds the app
    says it held the request: its ``x-bench-app-us`` header, see ``web_timing/sitecustomize.py``; NaN without)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    app = float("nan")
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"x-bench-app-us":
            app = int(value.strip()) / 1e6
        elif name == b"transfer-encoding":
            raise ValueError("chunked responses are not expected here")
    return status, await reader.readexactly(length) if length else b"", app


async def _client(host: str, port: int, token: str, pid: str, triples: list[tuple[str, str, str]],
                  stop_at: float, out: list[Answer], *, interval: float,
                  offset: float) -> None:
    """One resident on one keep-alive connection, posting choices until ``stop_at``: one after another
    (``interval`` 0), or paced, one every ``interval`` seconds from ``offset`` on, latency counted from when the
    request was due (a late answer delays the next request, and that delay counts too). A bare asyncio HTTP/1.1
    client: the load process must cost the 2-core machine as little as possible (httpx spent more CPU per request
    than the server)."""
    reader, writer = await asyncio.open_connection(host, port)
    k = 0
    due = time.perf_counter() + offset
    try:
        while time.perf_counter() < stop_at:
            if interval:
                wait = due - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
            c, t, v = triples[k % 2]
            k += 1
            body = json.dumps({"consortium_id": c, "township_id": t, "village_id": v}).encode()
            request = (f"POST /api/persons/{pid}/choices HTTP/1.1\r\nHost: {host}:{port}\r\n"
                       f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                       f"Content-Length: {len(body)}\r\n\r\n").encode() + body
            sent = time.perf_counter()
            start = min(due, sent) if interval else sent
            due += interval
            try:
                writer.write(request)
                status, answer, app = await _read_response(reader)
            except (OSError, ValueError, asyncio.IncompleteReadError):
                out.append((time.perf_counter() - start, 0, pid, 0, start, sent - start, float("nan")))  # code 0
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            choice_id = json.loads(answer).get("choice_id", 0) if status == 201 else 0
            out.append((time.perf_counter() - start, status, pid, choice_id, start, sent - start, app))
    finally:
        writer.close()


async def _load(url: str, tokens: dict[str, str], clients: list[tuple[str, list[tuple[str, str, str]]]],
                seconds: float, rate: float, warmup: float) -> dict[str, Any]:
    """Requests/s and latency over ``seconds`` after ``warmup`` seconds of the same load (connections opened,
    statements prepared: the steady state); every answer, warm-up included, goes to the count afterwards."""
    host, port = url.removeprefix("http://").split(":")
    every: list[Answer] = []
    cpu0 = time.process_time()
    measure_from = time.perf_counter() + warmup
    stop_at = measure_from + seconds
    interval = len(clients) / rate if rate else 0.0
    await asyncio.gather(*(_client(host, int(port), tokens[pid], pid, triples, stop_at, every, interval=interval,
                                   offset=interval * n / len(clients))
                           for n, (pid, triples) in enumerate(clients)))
    wall = time.perf_counter() - measure_from
    results = [r for r in every if r[4] >= measure_from]
    cpu = time.process_time() - cpu0
    lat = sorted(r[0] for r in results)
    codes: dict[int, int] = {}
    for r in results:
        codes[r[1]] = codes.get(r[1], 0) + 1
    accepted: dict[str, list[int]] = {}
    for _, code, pid, cid, *_ in every:
        if code == 201:
            accepted.setdefault(pid, []).append(cid)
    # where a request's latency went: sent late by this process (due -> written), held by the app (its header),
    # the rest (kernel, the worker's event loop before the app, this process's wake-up on the answer)
    parts = {"late": [r[5] for r in results], "app": [r[6] for r in results if r[6] == r[6]],
             "rest": [r[0] - r[5] - r[6] for r in results if r[6] == r[6]]}
    return {"requests": len(results), "all_requests": len(every), "wall": wall, "codes": codes, "client_cpu": cpu,
            "p50": _pct(lat, 0.5), "p95": _pct(lat, 0.95), "p99": _pct(lat, 0.99),
            "max": lat[-1] if lat else 0.0, "accepted": accepted,
            "parts": {k: [_pct(sorted(v), q) for q in (0.5, 0.95, 0.99)] for k, v in parts.items()},
            "slowest": _slowest(results)}


def _pct(values: list[float], q: float) -> float:
    """The ``q`` quantile of sorted ``values`` (0 when empty)."""
    return values[min(len(values) - 1, int(len(values) * q))] if values else 0.0


def _slowest(results: list[Answer]) -> list[float]:
    """The mean late / app / rest seconds of the slowest 1% of the answers (what the p99 is made of)."""
    worst = sorted((r for r in results if r[6] == r[6]), key=lambda r: r[0])[-max(1, len(results) // 100):]
    if not worst:
        return [0.0, 0.0, 0.0]
    return [statistics.fmean(r[5] for r in worst), statistics.fmean(r[6] for r in worst),
            statistics.fmean(r[0] - r[5] - r[6] for r in worst)]


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` and its living descendants (Linux /proc)."""
    total = 0.0
    todo = [pid]
    tick = os.sysconf("SC_CLK_TCK")
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return total


def postmaster_pid(db_url: str) -> int | None:
    """The PostgreSQL server's main process (its backends are its children), when this user may read its data
    directory's postmaster.pid; else None."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            data_dir = conn.execute(text("SHOW data_directory")).scalar()
        return int(Path(str(data_dir), "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError, DBAPIError):
        return None
    finally:
        engine.dispose()


def load_process(url: str, tokens: dict[str, str], clients: list[tuple[str, list[tuple[str, str, str]]]],
                 seconds: float, rate: float, warmup: float, queue: Any) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    queue.put(asyncio.run(_load(url, tokens, clients, seconds, rate, warmup)))


# ------------------------------------------------------------------------------------------------- the run

def run_load(args: argparse.Namespace, url: str, tokens: dict[str, str],
             clients: list[tuple[str, list[tuple[str, str, str]]]], server: subprocess.Popen[bytes], db_url: str,
             offered: float) -> tuple[dict[str, Any], float, float, float, float]:
    """One load from a second process (``offered`` requests/s, 0: unpaced): (result, rate, server CPU s,
    PostgreSQL CPU s, 1000 / requests)."""
    queue: Any = mp.get_context("spawn").Queue()
    proc = mp.get_context("spawn").Process(target=load_process,
                                           args=(url, tokens, clients, args.seconds, offered, args.warmup, queue))
    spy: subprocess.Popen[bytes] | None = None
    if args.profile is not None:
        spy = subprocess.Popen(["py-spy", "record", "--pid", str(server.pid), "--subprocesses", "--gil",
                                "--duration", str(int(args.seconds + args.warmup)), "--output", str(args.profile),
                                "--format", "flamegraph" if args.profile.suffix == ".svg" else "raw"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with console.status(f"load: {len(clients)} clients for {args.seconds:.0f} s from a second process ..."):
        server_cpu0 = tree_cpu_seconds(server.pid)
        pg_pid = postmaster_pid(db_url)
        pg_cpu0 = tree_cpu_seconds(pg_pid) if pg_pid else 0.0
        proc.start()
        result = queue.get(timeout=args.seconds + args.warmup + 600)
        server_cpu = tree_cpu_seconds(server.pid) - server_cpu0
        pg_cpu = tree_cpu_seconds(pg_pid) - pg_cpu0 if pg_pid else float("nan")
        proc.join()
    if spy is not None:
        spy.wait(timeout=120)
    rate = result["requests"] / result["wall"]
    console.print(f"load ({offered:,.0f}/s offered) " if offered else "load (unpaced) ", end="")
    console.print(f"{result['requests']:,} requests in {result['wall']:.1f} s = {rate:,.0f} req/s; "
                  f"p50 {result['p50'] * 1000:.0f} ms, p95 {result['p95'] * 1000:.0f} ms, "
                  f"p99 {result['p99'] * 1000:.0f} ms, max {result['max'] * 1000:.0f} ms; codes {result['codes']}")
    per_request = 1000 / max(1, result["all_requests"])  # CPU counted over the warm-up too
    parts, worst = result["parts"], result["slowest"]
    console.print("  p50 / p95 / p99, ms: " + "; ".join(
        f"{name} {' / '.join(f'{v * 1000:.0f}' for v in parts[key])}"
        for key, name in (("late", "sent late (client)"), ("app", "in the app (server)"),
                          ("rest", "rest (kernel, event loop, client wake-up)")))
        + f"; slowest 1%: late {worst[0] * 1000:.0f} + app {worst[1] * 1000:.0f} + rest {worst[2] * 1000:.0f} ms")
    console.print(f"CPU per request: server {server_cpu * per_request:.2f} ms, load client "
                  f"{result['client_cpu'] * per_request:.2f} ms, PostgreSQL {pg_cpu * per_request:.2f} ms "
                  f"(machine: {os.getloadavg()[0]:.1f} load average)")
    return result, rate, server_cpu, pg_cpu, per_request


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--persons", type=int, default=20_000)
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds of the same load before the measured ones")
    ap.add_argument("--baseline", type=int, default=300, help="direct submit_choice calls for the baseline")
    ap.add_argument("--pool", type=int, default=20, help="server's database connections")
    ap.add_argument("--workers", type=int, default=1, help="server worker processes")
    ap.add_argument("--rate", type=float, default=0.0,
                    help="requests/s offered by all clients together, each client paced (0: as fast as answered)")
    ap.add_argument("--then", type=float, default=0.0,
                    help="then a paced load at this fraction of the unpaced run's rate (e.g. 0.8)")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--no-pages", action="store_true", help="skip the page render times")
    ap.add_argument("--profile", type=Path, default=None,
                    help="record the server with py-spy during the load into this SVG (single worker)")
    args = ap.parse_args()

    work = DATA / f"web-{uuid.uuid4().hex[:6]}"
    schema = f"bench_web_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    db_url = f"{PG}?options=-csearch_path%3D{schema}"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server: subprocess.Popen[bytes] | None = None
    try:
        from yigongti.demo import generate_demo

        with Progress(console=console) as progress:
            task = progress.add_task(f"demo county, {args.persons:,} persons", total=args.persons)
            generate_demo(work / "demo", persons=args.persons,
                          progress=lambda done, total: progress.update(task, completed=done))
        t0 = time.perf_counter()
        server = subprocess.Popen(
            [sys.executable, "-c", "from yigongti.cli import main; main()", "serve", "--data", str(work / "demo"),
             "--db", db_url,
             "--port", str(port), "--data-dir", str(work / "serve"), "--today", TODAY.isoformat(),
             "--pool", str(args.pool), "--workers", str(args.workers), "--no-access-log"],
            stdout=(work / "server.log").open("wb"), stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(
                [str(ROOT / "web_timing"), *filter(None, [os.environ.get("PYTHONPATH")])])})
        with console.status("server: migrate, load the county, create accounts ..."):
            wait_up(url, server)
        start_s = time.perf_counter() - t0
        console.print(f"server up in {start_s:.1f} s (load of {args.persons:,} persons included)")

        clients = options_for(db_url, args.clients + args.baseline)
        baseline_clients, clients = clients[args.clients:], clients[:args.clients]

        # baseline: the use case without HTTP, one after another, in this process
        base_engine = make_engine(db_url)
        statements = [0]

        def count(*_: Any) -> None:
            statements[0] += 1

        event.listen(base_engine, "before_cursor_execute", count)
        on_driver = DriverStatement.rows  # statements on psycopg's cursor (PostgreSQL) bypass the event: counted here

        def rows_counted(self: DriverStatement, *a: Any, **k: Any) -> list[tuple[Any, ...]]:
            statements[0] += 1
            return on_driver(self, *a, **k)

        DriverStatement.rows = rows_counted  # type: ignore[method-assign]
        uow = SqlAlchemyUnitOfWork(base_engine)
        t = time.perf_counter()
        try:
            for pid, triples in baseline_clients:
                c, tw, v = triples[0]
                submit_choice(SubmitChoice(pid, YEAR, c, tw, v, datetime(2026, 11, 25, 10), for_household=False,
                                           channel="bench"), uow, now=datetime(2026, 11, 25, 10))
        finally:
            DriverStatement.rows = on_driver  # type: ignore[method-assign]
        baseline_rate = len(baseline_clients) / (time.perf_counter() - t)
        base_engine.dispose()
        console.print(f"baseline: submit_choice in-process, sequential: {baseline_rate:,.0f} choices/s, "
                      f"{statements[0] / max(1, len(baseline_clients)):.1f} SQL statements per choice "
                      "(BEGIN and COMMIT not counted)")

        with console.status(f"{len(clients)} accounts and tokens ..."):
            make_accounts(db_url, clients)
            tokens = {}
            with httpx.Client(base_url=url, timeout=60) as http:
                for pid, _ in clients:
                    r = http.post("/api/token", data={"username": f"bench-{pid}", "password": PASSWORD})
                    r.raise_for_status()
                    tokens[pid] = r.json()["access_token"]

        result, rate, server_cpu, pg_cpu, per_request = run_load(args, url, tokens, clients, server, db_url,
                                                                 args.rate)
        runs = [(args.rate, rate, result, server_cpu, pg_cpu, per_request)]
        if args.then and not args.rate:
            paced = round(rate * args.then)
            console.print(f"then: paced at {args.then:g} x {rate:,.0f} = {paced:,} requests/s")
            r2 = run_load(args, url, tokens, clients, server, db_url, paced)
            runs.append((paced, r2[1], r2[0], r2[2], r2[3], r2[4]))
            for pid, cids in r2[0]["accepted"].items():
                result["accepted"].setdefault(pid, []).extend(cids)
        console.print(f"ratio: HTTP with {len(clients)} clients / in-process sequential = {rate / baseline_rate:.2f}x")

        # the count afterwards
        engine = make_engine(db_url)
        accepted = result["accepted"]
        with engine.connect() as conn:
            rows = conn.execute(select(ChoiceRow.person_id, ChoiceRow.choice_id).where(
                ChoiceRow.channel == "api", ChoiceRow.year == YEAR)).all()
            got: dict[str, list[int]] = {}
            for pid, cid in rows:
                got.setdefault(pid, []).append(cid)
            lost = sum(len(set(v) - set(got.get(p, []))) for p, v in accepted.items())
            extra = sum(len(set(v) - set(accepted.get(p, []))) for p, v in got.items())
            dup = sum(len(v) - len(set(v)) for v in got.values())
            wrong = 0
            for pid, cids in accepted.items():
                last = max(cids)
                d = conn.execute(select(DesignationRow.choice_id).where(DesignationRow.person_id == pid,
                                                                         DesignationRow.year == YEAR)).scalar()
                wrong += int(d != last)
            sizes = {t: conn.execute(text(f"SELECT count(*), coalesce((SELECT sum(pg_total_relation_size(relid)) "
                                          f"FROM pg_partition_tree('{t}')), pg_total_relation_size('{t}')) "
                                          f"FROM {t}")).one()
                     for t in ("persons", "choices", "designations", "audit_log")}
        engine.dispose()
        console.print("database: " + "; ".join(f"{t} {n:,} rows, {int(b or 0) / max(1, n):,.0f} bytes/row with indexes"
                                               for t, (n, b) in sizes.items()))
        n_acc = sum(len(v) for v in accepted.values())
        console.print(f"count: {n_acc:,} accepted answers, {len(rows):,} choice rows; lost {lost}, not answered "
                      f"{extra}, duplicated {dup}; designations not on the last accepted choice: {wrong}")

        # page render times
        timings = [] if args.no_pages else page_times(url, work / "serve", clients[0][0], tokens)
        for who, path, ms in timings:
            console.print(f"  page {who:<10} {path:<28} {ms:7.1f} ms")
        print(json.dumps({"start_s": start_s, "baseline_rate": baseline_rate, "rate": rate,
                          "runs": [{"offered": o, "rate": r, "p50_ms": x["p50"] * 1000, "p95_ms": x["p95"] * 1000,
                                    "p99_ms": x["p99"] * 1000, "max_ms": x["max"] * 1000, "codes": x["codes"],
                                    "server_cpu_ms": sc * pr, "db_cpu_ms": pc * pr,
                                    "parts_ms": {k: [v * 1000 for v in q] for k, q in x["parts"].items()},
                                    "slowest_ms": [v * 1000 for v in x["slowest"]]}
                                   for o, r, x, sc, pc, pr in runs],
                          "p50_ms": result["p50"] * 1000,
                          "server_cpu_ms": server_cpu * per_request,
                          "client_cpu_ms": result["client_cpu"] * per_request,
                          "db_cpu_ms": pg_cpu * per_request, "p99_ms": result["p99"] * 1000,
                          "requests": result["requests"], "codes": result["codes"], "lost": lost, "extra": extra,
                          "duplicated": dup, "wrong_designation": wrong,
                          "table_bytes": {t: [n, int(b or 0)] for t, (n, b) in sizes.items()},
                          "pages": [[w, p, round(ms, 1)] for w, p, ms in timings]}))
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def _demo_login(serve_dir: Path, role: str) -> dict[str, str]:
    import tomllib

    accounts = tomllib.loads((serve_dir / "demo-accounts.toml").read_text(encoding="utf-8"))["accounts"]
    a = next(x for x in accounts if x["role"] == role)
    return {"username": a["username"], "password": a["password"]}


def page_times(url: str, serve_dir: Path, resident_pid: str, tokens: dict[str, str]) -> list[tuple[str, str, float]]:
    out = []
    for role, paths in (("insurance_bureau", ["/dashboard", "/registry", "/head-counts", "/finance", "/indicators",
                                              "/map", "/persons"]),
                        ("resident", ["/household", "/persons/{pid}/choose", "/persons/{pid}/claims"])):
        with httpx.Client(base_url=url, timeout=600, follow_redirects=False) as http:
            page = http.get("/login").text
            csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            creds = _demo_login(serve_dir, role)
            r = http.post("/login", data={**creds, "csrf": csrf})
            assert r.status_code == 303, r.text
            pid = _resident_pid(http) if role == "resident" else ""
            for path in paths:
                p = path.format(pid=pid)
                http.get(p).raise_for_status()  # first visit (figures computed once)
                times = []
                for _ in range(5):
                    t = time.perf_counter()
                    http.get(p).raise_for_status()
                    times.append((time.perf_counter() - t) * 1000)
                out.append((role.split("_")[-1], path, statistics.median(times)))
    return out


def _resident_pid(http: httpx.Client) -> str:
    html = http.get("/household").text
    return html.split('href="/persons/', 1)[1].split("/", 1)[0]


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
