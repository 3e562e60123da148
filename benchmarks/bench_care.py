"""Benchmark: every family doctor's worklists on the demo county (目标：每位家庭医生的工作清单 < 1 秒).

    python benchmarks/bench_care.py [--persons 20000] [--keep]

Generates the demo county under benchmarks/data/ (git-ignored; deleted afterwards unless --keep) and starts the app
on it the way ``yigongti serve`` does (SQLite, the demo care data seeded: a team per village clinic and township
centre, contracts, registered patients and a year of follow-ups). Then, for EVERY GP of every team, the doctor's
day as the page reads it (``care.service.doctor_day``: the panel in the doctor's scope, the registry, the last
follow-ups, the four worklists), timed; and the page ``/care`` itself (HTML rendered) for the demo family doctor,
median of 5; every GP's key-population list (``care.service.key_worklist``) and the whole county's public-health
duty lists (``care.service.duties``), and ``/care/duties`` as the bureau sees it, first (computed) then again (kept
by ``care.service.DutyCache``). Prints the prevalence the demo reached and p50 / p95 / max of the per-GP times.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import time
import tomllib
from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from yigongti.app.factory import create_app
from yigongti.care.sample import p_diabetes, p_hypertension
from yigongti.care.service import doctor_day, duties, key_worklist
from yigongti.care.store import ContractRow, FollowupRow, RegistryRow, TeamMemberRow, TeamRow
from yigongti.care.uow import CareUnitOfWork
from yigongti.enrollment.store import PersonRow
from yigongti.platform.accounts import Principal, Role
from yigongti.platform.scope import person_condition
from yigongti.platform.settings import Settings

HERE = Path(__file__).resolve().parent
TODAY = date(2026, 12, 5)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--persons", type=int, default=20_000)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    data_dir = HERE / "data" / f"care-{args.persons}"
    if data_dir.exists() and not args.keep:
        shutil.rmtree(data_dir)  # --keep: start again on the county kept by an earlier run
    t0 = time.perf_counter()
    app = create_app(Settings(data_dir=data_dir, demo_persons=args.persons, today=TODAY))
    ctx = app.state.ctx
    print(f"demo county of {args.persons:,} persons generated, loaded and seeded in {time.perf_counter() - t0:.1f} s")
    try:
        with ctx.sessions() as s:
            gps = s.execute(select(TeamMemberRow.member_id, TeamRow.inst_id, TeamMemberRow.username).join(
                TeamRow, TeamRow.team_id == TeamMemberRow.team_id).where(TeamMemberRow.role == "gp")
                .order_by(TeamMemberRow.member_id)).all()
            counts = {name: s.scalar(select(func.count()).select_from(table)) for name, table in (
                ("contracts", ContractRow), ("registry", RegistryRow), ("follow-ups", FollowupRow))}
            by_disease = dict(s.execute(select(RegistryRow.disease, func.count())
                                        .group_by(RegistryRow.disease)).all())
            ages = [TODAY.year - b.year - ((TODAY.month, TODAY.day) < (b.month, b.day))
                    for b in s.scalars(select(PersonRow.birth_date))]
        adults = [a for a in ages if a >= 18]
        print(f"{len(adults):,} adults; expected prevalence of the demo model: hypertension "
              f"{sum(map(p_hypertension, adults)) / len(adults):.1%}, diabetes "
              f"{sum(map(p_diabetes, adults)) / len(adults):.1%}")
        print(f"{len(gps)} GPs; " + ", ".join(f"{k} {v:,}" for k, v in counts.items())
              + f"; registered: hypertension {by_disease.get('hypertension', 0):,}, "
                f"diabetes {by_disease.get('diabetes', 0):,}")
        for attempt in ("first pass (cold cache)", "second pass"):
            times, sizes = [], []
            for member_id, inst_id, username in gps:
                principal = Principal(user_id=0, username=username or f"bench-{member_id}", role=Role.CLINICIAN,
                                      inst_id=inst_id)
                t = time.perf_counter()
                with ctx.sessions() as s:
                    condition = person_condition(s, principal, year=TODAY.year)
                    day = doctor_day(CareUnitOfWork(s), principal, gp_member_id=member_id, today=TODAY,
                                     policy=ctx.policy.care, condition=condition)
                times.append(time.perf_counter() - t)
                sizes.append(day.panel)
            times.sort()
            print(f"doctor_day per GP, {attempt} (panel {min(sizes)}-{max(sizes)} residents): "
                  f"p50 {statistics.median(times) * 1000:.1f} ms, "
                  f"p95 {times[int(0.95 * (len(times) - 1))] * 1000:.1f} ms, max {times[-1] * 1000:.1f} ms "
                  f"(target < 1,000 ms: {'met' if times[-1] < 1 else 'NOT met'})")
        times = []
        for member_id, inst_id, username in gps:  # the key-population list of every GP (重点人群服务清单)
            principal = Principal(user_id=0, username=username or f"bench-{member_id}", role=Role.CLINICIAN,
                                  inst_id=inst_id)
            t = time.perf_counter()
            with ctx.sessions() as s:
                condition = person_condition(s, principal, year=TODAY.year)
                key_worklist(CareUnitOfWork(s), principal, gp_member_id=member_id, today=TODAY,
                             policy=ctx.policy.care, condition=condition)
            times.append(time.perf_counter() - t)
        times.sort()
        print(f"key_worklist per GP: p50 {statistics.median(times) * 1000:.1f} ms, "
              f"p95 {times[int(0.95 * (len(times) - 1))] * 1000:.1f} ms, max {times[-1] * 1000:.1f} ms")
        with ctx.sessions() as s:
            from yigongti.registry.store import ConsortiumRow

            every = list(s.scalars(select(ConsortiumRow.consortium_id)))
            t = time.perf_counter()
            d = duties(CareUnitOfWork(s), year=TODAY.year, today=TODAY, policy=ctx.policy.care, consortia=every)
            print(f"duties of the county ({len(every)} consortia, {len(d.units)} units): "
                  f"{(time.perf_counter() - t) * 1000:.0f} ms")
        accounts = tomllib.loads((data_dir / "demo-accounts.toml").read_text(encoding="utf-8"))["accounts"]
        password = next(a["password"] for a in accounts if a["username"] == "family-doctor")
        with TestClient(app) as c:
            token = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)  # type: ignore[union-attr]
            c.post("/login", data={"username": "family-doctor", "password": password, "csrf": token})
            pages = []
            for _ in range(5):
                t = time.perf_counter()
                r = c.get("/care")
                pages.append(time.perf_counter() - t)
                assert r.status_code == 200
            print(f"GET /care as the demo family doctor (HTML): median {statistics.median(pages) * 1000:.1f} ms")
            t = time.perf_counter()
            c.get("/care/dashboard")
            print(f"GET /care/dashboard (first, measures computed): {(time.perf_counter() - t) * 1000:.0f} ms")
        bureau = next(a["password"] for a in accounts if a["username"] == "bureau")
        with TestClient(app) as c:  # the county's duty lists as the insurance bureau (all consortia) sees them
            token = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)  # type: ignore[union-attr]
            c.post("/login", data={"username": "bureau", "password": bureau, "csrf": token})
            t = time.perf_counter()
            assert c.get("/care/duties").status_code == 200
            first = time.perf_counter() - t
            pages = []
            for _ in range(5):
                t = time.perf_counter()
                assert c.get("/care/duties").status_code == 200
                pages.append(time.perf_counter() - t)
            print(f"GET /care/duties as the bureau (HTML): first (computed) {first * 1000:.0f} ms, "
                  f"then kept (DutyCache) median of 5 {statistics.median(pages) * 1000:.1f} ms")
    finally:
        ctx.engine.dispose()
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
