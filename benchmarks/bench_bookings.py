"""Benchmark: bookings per second with 200 concurrent clients on PostgreSQL, then the count that shows no place was
booked twice (预约并发压测).

    python benchmarks/bench_bookings.py [--clients 200] [--seconds 10] [--slots 50] [--capacity 30] [--pool 60]

A fresh database (``bench_bookings`` on the local server, dropped at the end unless ``--keep``) gets the schema and
the worked example county; the lead hospital G1-H publishes ``--slots`` slots of ``--capacity`` places (20% reserved,
starting in a month: the reserve is not released), and the township G1-T1 holds accepted referrals to it. Then
``--clients`` threads, released at once, book for ``--seconds`` through the use case ``referral.service.book_place``
(one transaction each, the same path as ``POST /api/slots/{id}/bookings``): a random slot and person, one booking in
five with one of the referrals. They share a pool of ``--pool`` connections (the server allows 100 in all).

The check afterwards, in SQL: every slot's counters equal its live bookings, never more than its capacity; the
bookings without a referral never more than the open places (capacity - reserved); no person twice in a slot; no
referral with two live places. Exit status 1 when any of these fails.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from yigongti.core.db import Base
from yigongti.core.policy import Policy, ReferralPolicy
from yigongti.datafolder.folder import read_folder
from yigongti.enrollment.loading import load_data
from yigongti.enrollment.uow import SqlAlchemyUnitOfWork
from yigongti.platform.accounts import Principal, Role
from yigongti.referral.domain import TransitionNotAllowed, reserved_places
from yigongti.referral.service import NoPlaceLeft, book_place
from yigongti.referral.store import ReferralRow, SlotRow
from yigongti.referral.uow import ReferralUnitOfWork

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "tests" / "data" / "county-2026" / "input"
SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
NOW = datetime(2026, 3, 2, 9, 0)
DOCTOR = Principal(user_id=1, username="bench-doctor", role=Role.CLINICIAN, inst_id="G1-T1")

CHECKS = {
    "slots whose counters differ from their live bookings": """
        SELECT count(*) FROM referral_slots s LEFT JOIN (
          SELECT slot_id, count(*) AS n, count(*) FILTER (WHERE referral_id IS NULL) AS n_open
          FROM slot_bookings WHERE status = 'booked' GROUP BY slot_id) b ON b.slot_id = s.slot_id
        WHERE s.booked <> coalesce(b.n, 0) OR s.booked_open <> coalesce(b.n_open, 0)""",
    "slots booked beyond their capacity": """
        SELECT count(*) FROM referral_slots s JOIN (
          SELECT slot_id, count(*) AS n FROM slot_bookings WHERE status = 'booked' GROUP BY slot_id) b
          ON b.slot_id = s.slot_id WHERE b.n > s.capacity""",
    "slots whose reserve went to bookings without a referral": """
        SELECT count(*) FROM referral_slots s JOIN (
          SELECT slot_id, count(*) AS n FROM slot_bookings WHERE status = 'booked' AND referral_id IS NULL
          GROUP BY slot_id) b ON b.slot_id = s.slot_id WHERE b.n > s.capacity - s.reserved""",
    "persons holding two places of one slot": """
        SELECT count(*) FROM (SELECT slot_id, person_id FROM slot_bookings WHERE status = 'booked'
                              GROUP BY slot_id, person_id HAVING count(*) > 1) d""",
    "referrals holding two places": """
        SELECT count(*) FROM (SELECT referral_id FROM slot_bookings WHERE status = 'booked'
                              AND referral_id IS NOT NULL GROUP BY referral_id HAVING count(*) > 1) d""",
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--slots", type=int, default=50)
    ap.add_argument("--capacity", type=int, default=30)
    ap.add_argument("--pool", type=int, default=60)
    ap.add_argument("--database", default="bench_bookings")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()

    admin = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{args.database}"'))
        c.execute(text(f'CREATE DATABASE "{args.database}"'))
    engine = create_engine(f"{SERVER}/{args.database}", pool_size=args.pool, max_overflow=0, pool_timeout=120)
    try:
        Base.metadata.create_all(engine)
        load_data(read_folder(EXAMPLE), SqlAlchemyUnitOfWork(engine), policy=Policy(), now=NOW)
        policy = ReferralPolicy()
        start = NOW + timedelta(days=30)
        with engine.begin() as c:
            persons = [r[0] for r in c.execute(text("SELECT person_id FROM persons ORDER BY person_id"))]
            c.execute(SlotRow.__table__.insert(), [  # type: ignore[attr-defined]
                {"inst_id": "G1-H", "kind": "specialist", "start": start + timedelta(hours=i),
                 "capacity": args.capacity, "reserved": reserved_places(args.capacity, policy.reserved_share),
                 "booked": 0, "booked_open": 0,
                 "created_at": NOW, "created_by": "bench"} for i in range(args.slots)])
            c.execute(ReferralRow.__table__.insert(), [  # type: ignore[attr-defined]
                {"person_id": persons[i % len(persons)], "from_inst_id": "G1-T1", "to_inst_id": "G1-H",
                 "direction": "up", "diagnosis": "I10", "reason": "bench", "status": "accepted",
                 "requested_at": NOW, "requested_by": "bench", "updated_at": NOW} for i in range(args.slots * 3)])
            slot_ids = [r[0] for r in c.execute(text("SELECT slot_id FROM referral_slots"))]
            referrals = [(r[0], r[1]) for r in c.execute(text("SELECT referral_id, person_id FROM referrals"))]
        free_referrals = list(referrals)
        random.Random(7).shuffle(free_referrals)
        lock = threading.Lock()
        counts = {"booked": 0, "booked_referred": 0, "refused": 0, "errors": 0}
        latencies: list[float] = []
        barrier = threading.Barrier(args.clients + 1)
        deadline = [0.0]

        def client(n: int) -> None:
            rng = random.Random(n)
            mine = {"booked": 0, "booked_referred": 0, "refused": 0, "errors": 0}
            lat: list[float] = []
            barrier.wait()
            while time.perf_counter() < deadline[0]:
                slot_id = rng.choice(slot_ids)
                referral_id, person_id = None, rng.choice(persons)
                if rng.random() < 0.2:
                    with lock:
                        if free_referrals:
                            referral_id, person_id = free_referrals.pop()
                t0 = time.perf_counter()
                try:
                    book_place(ReferralUnitOfWork(engine), DOCTOR, slot_id, person_id=person_id,
                               referral_id=referral_id, policy=policy, now=NOW)
                    mine["booked_referred" if referral_id else "booked"] += 1
                except (NoPlaceLeft, TransitionNotAllowed):
                    mine["refused"] += 1
                    if referral_id is not None:  # still accepted: another client may try it later
                        with lock:
                            free_referrals.insert(0, (referral_id, person_id))
                except Exception as exc:  # noqa: BLE001 - counted and shown: the benchmark must not hide them
                    mine["errors"] += 1
                    print(f"error: {type(exc).__name__}: {exc}"[:300], file=sys.stderr)
                lat.append(time.perf_counter() - t0)
            with lock:
                for k, v in mine.items():
                    counts[k] += v
                latencies.extend(lat)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
        for t in threads:
            t.start()
        deadline[0] = time.perf_counter() + args.seconds
        t0 = time.perf_counter()
        barrier.wait()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        attempts = len(latencies)
        latencies.sort()
        done = counts["booked"] + counts["booked_referred"]
        print(f"{args.clients} clients, {args.seconds:g} s, pool {args.pool}, {args.slots} slots x {args.capacity} "
              f"places ({reserved_places(args.capacity, policy.reserved_share)} reserved each)")
        print(f"attempts {attempts} ({attempts / wall:,.0f}/s), bookings {done} ({done / wall:,.0f}/s: "
              f"{counts['booked_referred']} with a referral), refused 409 {counts['refused']}, "
              f"errors {counts['errors']}")
        if latencies:
            print(f"latency per attempt: median {latencies[len(latencies) // 2] * 1000:.0f} ms, "
                  f"p95 {latencies[int(len(latencies) * 0.95)] * 1000:.0f} ms")
        ok = counts["errors"] == 0
        with engine.connect() as c:
            live = c.execute(text("SELECT count(*), sum(CASE WHEN referral_id IS NULL THEN 1 ELSE 0 END) "
                                  "FROM slot_bookings WHERE status = 'booked'")).one()
            places = c.execute(text("SELECT sum(capacity), sum(booked), sum(booked_open) FROM referral_slots")).one()
            print(f"live bookings {live[0]} ({live[1]} without a referral); slots' counters: {places[1]} booked "
                  f"({places[2]} without a referral) of {places[0]} places")
            ok = ok and live[0] == done == places[1]
            for what, sql in CHECKS.items():
                n = c.execute(text(sql)).scalar_one()
                print(f"{what}: {n}")
                ok = ok and n == 0
        print("no place booked twice: " + ("yes" if ok else "NO"))
        return 0 if ok else 1
    finally:
        engine.dispose()
        if not args.keep:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{args.database}"'))
        admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
