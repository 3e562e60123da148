"""Benchmark: the list pages of the infectious-disease reports, the food-borne cases and clusters, the pharmacy,
surveillance, stockpile, emergency teams, prescriptions, care quality (处方点评与病历质控) and training hours on the
demo county (target < 1 s).

    python benchmarks/bench_lists.py [--persons 20000] [--db URL] [--repeat 5] [--keep] [--only /workforce]

Starts the app as ``yigongti serve`` would on a fresh data directory under benchmarks/data/ (git-ignored; deleted
afterwards unless --keep): the demo county is generated and loaded and its demo report cards, pharmacy, surveillance,
stockpile, teams and prescriptions seeded (``demo.workflows``, ``demo.readiness``). Then, in process (TestClient, no
network), each list page is fetched ``--repeat`` times for the roles that use it after one warm-up, and the median
and the worst are printed with the rows shown and the process CPU time per request (``--only``: the pages whose path
contains this text). The year's figures (settlement and appraisal, which ``/workforce/quality`` shows) are computed
before the timing starts, as a running server has them. SQLite by
default (the file in the data directory); ``--db`` for PostgreSQL (a scratch schema is the caller's business).
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import time
import uuid
from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from yigongti.app.factory import create_app
from yigongti.pharmacy.store import DrugRow, ShortageRow, StockRow
from yigongti.platform.accounts import create_user
from yigongti.platform.settings import Settings
from yigongti.public_health.store import CardRow, ClusterReportRow, FoodborneCardRow
from yigongti.registry.store import ConsortiumRow, InstitutionRow

ROOT = Path(__file__).resolve().parent
DATA = ROOT / "data"
PASSWORD = "bench-password-1"
TARGET_SECONDS = 1.0
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _signed_in(app: object, username: str) -> TestClient:
    c = TestClient(app)  # type: ignore[arg-type]
    token = CSRF.search(c.get("/login").text)
    assert token
    r = c.post("/login", data={"username": username, "password": PASSWORD, "csrf": token.group(1)},
               follow_redirects=False)
    assert r.status_code == 303, r.text
    return c


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--persons", type=int, default=20_000)
    ap.add_argument("--db", default="", help="database URL (default: SQLite in the data directory)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--only", default="", help="only the pages whose path contains this text")
    args = ap.parse_args()
    data_dir = DATA / f"lists-{uuid.uuid4().hex[:8]}"
    t0 = time.perf_counter()
    app = create_app(Settings(data_dir=data_dir, db_url=args.db, demo_persons=args.persons, demo_accounts=True,
                              login_burst=1000, today=date.today()))
    ctx = app.state.ctx
    print(f"demo county of {args.persons:,} persons generated, loaded and seeded in {time.perf_counter() - t0:.1f} s")
    try:
        with ctx.sessions.begin() as s:
            cons = s.scalar(select(ConsortiumRow).order_by(ConsortiumRow.consortium_id).limit(1))
            assert cons is not None
            village = s.scalar(select(ShortageRow.inst_id).order_by(ShortageRow.shortage_id).limit(1))
            township = s.scalar(select(InstitutionRow.inst_id).where(InstitutionRow.tier == "township",
                                                                     InstitutionRow.consortium_id == cons.consortium_id)
                                .order_by(InstitutionRow.inst_id).limit(1))
            counts = {"cards": s.scalar(select(func.count()).select_from(CardRow)),
                      "food-borne cases": s.scalar(select(func.count()).select_from(FoodborneCardRow)),
                      "cluster reports": s.scalar(select(func.count()).select_from(ClusterReportRow)),
                      "drugs": s.scalar(select(func.count()).select_from(DrugRow)),
                      "stock lines": s.scalar(select(func.count()).select_from(StockRow)),
                      "shortages": s.scalar(select(func.count()).select_from(ShortageRow)),
                      "institutions": s.scalar(select(func.count()).select_from(InstitutionRow))}
            now = ctx.clock.now()
            users = {"bl-consortium": ("consortium_admin", {"consortium_id": cons.consortium_id}),
                     "bl-commission": ("health_commission", {"county_code": cons.county_code}),
                     "bl-doctor": ("clinician", {"inst_id": township or ""}),
                     "bl-central": ("institution_admin", {"inst_id": cons.lead_inst_id}),
                     "bl-clinic": ("institution_admin", {"inst_id": village or ""})}
            for name, (role, anchor) in users.items():
                create_user(s, username=name, password=PASSWORD, role=role, now=now, **anchor)
        print("  ".join(f"{k} {v:,}" for k, v in counts.items()))
        year = ctx.clock.today().year
        pages = [("bl-consortium", "/public-health"), ("bl-commission", "/public-health"),
                 ("bl-doctor", "/public-health"), ("bl-consortium", "/public-health/foodborne"),
                 ("bl-commission", "/public-health/foodborne"), ("bl-doctor", "/public-health/foodborne"),
                 ("bl-commission", "/public-health/foodborne/clusters.csv"),
                 ("bl-consortium", "/api/public-health/foodborne-clusters"),
                 ("bl-consortium", f"/public-health/timeliness?year={year}"),
                 ("bl-commission", f"/public-health/timeliness?year={year}"),
                 ("bl-consortium", f"/public-health/timeliness.csv?year={year}"),
                 ("bl-consortium", "/pharmacy"), ("bl-central", "/pharmacy"), ("bl-clinic", "/pharmacy"),
                 ("bl-consortium", "/pharmacy/alerts.csv"), ("bl-consortium", "/pharmacy/shortages.csv"),
                 ("bl-central", "/pharmacy/stock.csv"),
                 ("bl-consortium", "/public-health/surveillance"), ("bl-commission", "/public-health/surveillance"),
                 ("bl-commission", "/public-health/surveillance.csv"), ("bl-consortium", "/public-health/stockpile"),
                 ("bl-commission", "/public-health/stockpile"), ("bl-consortium", "/workforce/teams"),
                 ("bl-commission", "/workforce/teams"), ("bl-doctor", "/pharmacy/prescriptions"),
                 ("bl-central", "/pharmacy/prescriptions"), ("bl-doctor", "/pharmacy"),
                 ("bl-central", f"/pharmacy/moves.csv?inst_id={cons.lead_inst_id}"),
                 ("bl-consortium", "/workforce"), ("bl-commission", "/workforce"),
                 ("bl-consortium", "/workforce/quality"), ("bl-commission", "/workforce/quality"),
                 ("bl-central", "/workforce/quality"), ("bl-consortium", "/workforce/quality?dsort=mean&ddir=desc"),
                 ("bl-consortium", "/workforce/quality.csv"), ("bl-consortium", "/workforce/training"),
                 ("bl-commission", "/workforce/training"), ("bl-central", "/workforce/training"),
                 ("bl-consortium", "/workforce/training.csv")]
        pages = [(u, p) for u, p in pages if args.only in p]
        t1 = time.perf_counter()
        ctx.figures.get()
        print(f"the year's figures computed in {time.perf_counter() - t1:.1f} s (before the timing)")
        clients = {u: _signed_in(app, u) for u in users}
        worst_all = 0.0
        print(f"{'user':<15} {'page':<42} {'rows':>6} {'median ms':>10} {'worst ms':>9} {'cpu ms':>7}")
        for user, path in pages:
            c = clients[user]
            r = c.get(path)
            assert r.status_code == 200, (user, path, r.status_code, r.text[:300])
            times = []
            cpu = time.process_time()
            for _ in range(args.repeat):
                t = time.perf_counter()
                r = c.get(path)
                times.append(time.perf_counter() - t)
                assert r.status_code == 200
            cpu = (time.process_time() - cpu) / args.repeat
            plain = path.split("?")[0]
            rows = r.text.count("\n") - 1 if plain.endswith(".csv") else (
                len(r.json()) if plain.startswith("/api/") else r.text.count("<tr "))
            worst_all = max(worst_all, max(times))
            print(f"{user:<15} {path:<42} {rows:>6} {statistics.median(times) * 1000:>10.0f} "
                  f"{max(times) * 1000:>9.0f} {cpu * 1000:>7.0f}")
        ok = worst_all < TARGET_SECONDS
        print(f"worst {worst_all * 1000:.0f} ms: {'within' if ok else 'OVER'} the {TARGET_SECONDS:.0f} s target")
        return 0 if ok else 1
    finally:
        ctx.engine.dispose()
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
