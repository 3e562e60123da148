"""Benchmark: year-end settlement (清算) at county and province scale.

    python benchmarks/bench_settle.py county [--claims 3500000]
        settle a county-year held in memory (designations and adjudicated claims given), against the core
        aggregation as one hand-written DuckDB SQL query over the same tables (the baseline), then write outputs.
    python benchmarks/bench_settle.py core --claims 100000000 [--pandas-claims 20000000]
        the core aggregation (charged spending per consortium and month: claims joined to designations and
        institutions, sums) from Parquet: the Ibis expression of ``budget.engine`` on DuckDB vs one
        hand-written DuckDB SQL query (baseline) vs pandas (on ``--pandas-claims`` rows when memory would not do).
        Each run is a separate process so that its peak memory (max RSS) is its own.

Inputs are generated under benchmarks/data/ (git-ignored); ``--keep`` keeps them, else they are deleted.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from rich.console import Console
from rich.progress import Progress

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "settle"
YEAR = 2026
RULES = np.array(["flat_copay", "outpatient", "inpatient", "emergency_as_outside", "unreasonable", "no_benefit",
                  "annual_cap"])
RULE_P = np.array([0.48, 0.30, 0.08, 0.01, 0.01, 0.119, 0.001])
DIAGNOSES = np.array(["I10", "E11.9", "J06.9", "K29.7", "I63.9", "M54.5", "J18.9", "N39.0", "C34.9", "S72.0"])
console = Console()


# --------------------------------------------------------------------------------------------- synthetic county

def _ids(prefix: str, n: np.ndarray | range, width: int) -> pa.Array:
    arr = pa.array(np.asarray(n, dtype=np.int64))
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(pc.cast(arr, pa.string()), width, "0"), "")


def institutions(consortia: int, townships: int, villages: int) -> pa.Table:
    rows: list[dict[str, object]] = []
    for c in range(1, consortia + 1):
        g = f"G{c:03d}"
        rows.append({"inst_id": f"{g}-H", "tier": "county", "kind": "general", "consortium_id": g})
        rows.append({"inst_id": f"{g}-C", "tier": "county", "kind": "cdc", "consortium_id": g})
        for t in range(1, townships + 1):
            rows.append({"inst_id": f"{g}-T{t:02d}", "tier": "township", "kind": "township_centre",
                         "consortium_id": g})
            for v in range(1, villages + 1):
                rows.append({"inst_id": f"{g}-T{t:02d}-V{v:02d}", "tier": "village", "kind": "village_clinic",
                             "consortium_id": g})
    for x in range(3):
        rows.append({"inst_id": f"X{x}", "tier": "outside", "kind": "general", "consortium_id": None})
    return pa.Table.from_pylist(rows)


def persons_and_designations(n: int, inst: pa.Table, rng: np.random.Generator) -> tuple[pa.Table, pa.Table]:
    ids = _ids("P", range(n), 9)
    birth = (np.datetime64("1930-01-01") + rng.integers(0, 34000, n).astype("timedelta64[D]")).astype("datetime64[D]")
    persons = pa.table({"person_id": ids, "birth_date": pa.array(birth, pa.date32())})
    villages = inst.filter(pc.equal(inst.column("tier"), "village"))
    pick = rng.integers(0, villages.num_rows, n)
    v = villages.take(pa.array(pick))
    vid = v.column("inst_id")
    township = pc.utf8_slice_codeunits(vid, 0, 8)
    enrolled = rng.random(n) < 0.93  # the rest are insured elsewhere: fee-for-service
    des = pa.table({"person_id": ids, "year": pa.array(np.full(n, YEAR)), "consortium_id": v.column("consortium_id"),
                    "township_id": township, "village_id": vid}).filter(pa.array(enrolled))
    return persons, des


def claims_chunk(start: int, n: int, persons: int, inst: pa.Table, rng: np.random.Generator) -> pa.Table:
    inst_ids = inst.column("inst_id").to_numpy(zero_copy_only=False)
    tiers = inst.column("tier").to_numpy(zero_copy_only=False)
    weights = np.where(tiers == "village", 6.0, np.where(tiers == "township", 4.0, np.where(
        tiers == "county", 8.0, 60.0)))
    weights /= weights.sum()
    rule = RULES[rng.choice(len(RULES), n, p=RULE_P)]
    fund = rng.gamma(1.2, 30000, n).astype(np.int64)
    fund[rule == "unreasonable"] = 0
    fund[rule == "no_benefit"] = 0
    day = rng.integers(0, 365, n)
    day[rng.random(n) < 0.02] -= 60  # a few claims of the year before
    return pa.table({
        "claim_id": _ids("C", np.arange(start, start + n), 10),
        "person_id": _ids("P", rng.integers(0, persons, n), 9),
        "inst_id": pa.array(inst_ids[rng.choice(len(inst_ids), n, p=weights)], pa.string()),
        "admit_date": pa.array((np.datetime64(f"{YEAR}-01-01") + day.astype("timedelta64[D]")), pa.date32()),
        "fund_paid": pa.array(fund, pa.int64()),
        "rule": pa.array(rule, pa.string()),
        "diagnosis": pa.array(DIAGNOSES[rng.integers(0, len(DIAGNOSES), n)], pa.string()),
        "unreasonable": pa.array(rule == "unreasonable"),
    })


def county(claims: int, seed: int = 7) -> tuple[dict[str, pa.Table], pa.Table, pa.Table]:
    rng = np.random.default_rng(seed)
    inst = institutions(3, 7, 10)
    n_persons = max(1000, claims // 7)
    persons, des = persons_and_designations(n_persons, inst, rng)
    adj = claims_chunk(0, claims, n_persons, inst, rng)
    consortia = pa.table({"consortium_id": ["G001", "G002", "G003"], "name": ["G001", "G002", "G003"]})
    scores = pa.table({"unit_id": ["G001", "G002"], "year": [YEAR, YEAR], "score": ["92", "71.5"]})
    return {"institutions": inst, "persons": persons, "consortia": consortia, "scores": scores}, des, adj


def write_province(folder: Path, claims: int, *, chunk: int = 5_000_000, seed: int = 11) -> None:
    """Parquet inputs for the core aggregation: claims/ (one file per chunk), designations, institutions."""
    rng = np.random.default_rng(seed)
    consortia = max(3, claims // 3_500_000)
    inst = institutions(consortia, 7, 10)
    n_persons = claims // 7
    folder.mkdir(parents=True, exist_ok=True)
    _, des = persons_and_designations(n_persons, inst, rng)
    pq.write_table(des, folder / "designations.parquet")
    pq.write_table(inst, folder / "institutions.parquet")
    (folder / "claims").mkdir(exist_ok=True)
    with Progress(console=console) as progress:
        task = progress.add_task(f"generating {claims:,} claims", total=claims)
        for i, start in enumerate(range(0, claims, chunk)):
            n = min(chunk, claims - start)
            pq.write_table(claims_chunk(start, n, n_persons, inst, rng), folder / "claims" / f"part-{i:04d}.parquet",
                           row_group_size=1_000_000)
            progress.advance(task, n)


# --------------------------------------------------------------------------------------------- the three ways

SQL = """
SELECT d.consortium_id, month(a.admit_date) AS month,
       sum(CASE WHEN i.consortium_id = d.consortium_id THEN a.fund_paid ELSE 0 END) AS in_network,
       sum(CASE WHEN i.consortium_id = d.consortium_id THEN 0 ELSE a.fund_paid END) AS out_of_network
FROM {claims} a
JOIN {designations} d ON d.person_id = a.person_id AND d.year = {year}
JOIN {institutions} i ON i.inst_id = a.inst_id
WHERE a.admit_date >= DATE '{year}-01-01' AND a.admit_date < DATE '{next}-01-01'
  AND a.rule <> 'unreasonable' AND NOT a.unreasonable
  AND (i.consortium_id = d.consortium_id OR i.tier = 'outside' OR a.rule = 'emergency_as_outside'
       OR (a.rule = 'annual_cap' AND coalesce(i.consortium_id, '') <> ''))
GROUP BY ALL ORDER BY 1, 2
"""


def sql_text(claims: str, designations: str, institutions: str) -> str:
    return SQL.format(claims=claims, designations=designations, institutions=institutions, year=YEAR, next=YEAR + 1)


def run_sql(folder: Path) -> list[dict[str, object]]:
    import duckdb

    con = duckdb.connect()
    q = sql_text(f"read_parquet('{folder}/claims/*.parquet')", f"read_parquet('{folder}/designations.parquet')",
                 f"read_parquet('{folder}/institutions.parquet')")
    return con.sql(q).to_arrow_table().to_pylist()  # type: ignore[no-any-return]


def run_ibis(folder: Path) -> list[dict[str, object]]:
    from yigongti.budget import engine as q
    from yigongti.core.engine import connect, to_arrow

    con = connect("duckdb")
    claims = con.read_parquet(f"{folder}/claims/*.parquet")
    des = con.read_parquet(f"{folder}/designations.parquet")
    inst = con.read_parquet(f"{folder}/institutions.parquet")
    return to_arrow(q.spending_by_month(q.charged_spending(claims, des, inst, year=YEAR))).to_pylist()


def run_pandas(folder: Path, limit: int | None) -> list[dict[str, object]]:
    import pandas as pd

    files = sorted((folder / "claims").glob("*.parquet"))
    cols = ["person_id", "inst_id", "admit_date", "fund_paid", "rule", "unreasonable"]
    parts, rows = [], 0
    for f in files:
        if limit is not None and rows >= limit:
            break
        parts.append(pd.read_parquet(f, columns=cols, dtype_backend="pyarrow"))
        rows += len(parts[-1])
    a = pd.concat(parts, ignore_index=True)
    if limit is not None:
        a = a.iloc[:limit]
    des = pd.read_parquet(folder / "designations.parquet", columns=["person_id", "year", "consortium_id"],
                          dtype_backend="pyarrow")
    des = des[des["year"] == YEAR].drop(columns="year")
    inst = pd.read_parquet(folder / "institutions.parquet", columns=["inst_id", "tier", "consortium_id"],
                           dtype_backend="pyarrow").rename(columns={"consortium_id": "inst_consortium"})
    year = pd.to_datetime(a["admit_date"].astype("datetime64[ms]")).dt.year
    a = a[(year == YEAR) & (a["rule"] != "unreasonable") & ~a["unreasonable"]]
    j = a.merge(des, on="person_id").merge(inst, on="inst_id")
    own = (j["inst_consortium"] == j["consortium_id"]).fillna(False).astype(bool)
    capped = (j["rule"] == "annual_cap") & (j["inst_consortium"].fillna("") != "")  # an emergency the cap cut
    out = ((j["tier"] == "outside") | (j["rule"] == "emergency_as_outside") | capped).fillna(False).astype(bool)
    j = j[own | out]
    j = j.assign(month=pd.to_datetime(j["admit_date"].astype("datetime64[ms]")).dt.month,
                 in_network=j["fund_paid"].where(own[own | out], 0),
                 out_of_network=j["fund_paid"].where(~own[own | out], 0))
    g = j.groupby(["consortium_id", "month"], as_index=False)[["in_network", "out_of_network"]].sum()
    g = g.sort_values(["consortium_id", "month"])
    return [{"consortium_id": str(r.consortium_id), "month": int(r.month), "in_network": int(r.in_network),
             "out_of_network": int(r.out_of_network)} for r in g.itertuples()]


def child(way: str, folder: Path, limit: int | None = None) -> None:
    # imports outside the timed part
    import duckdb  # noqa: F401
    import pandas  # noqa: F401

    import yigongti.budget.engine  # noqa: F401

    t = time.perf_counter()
    if way == "sql":
        rows = run_sql(folder)
    elif way == "ibis":
        rows = run_ibis(folder)
    else:
        rows = run_pandas(folder, limit)
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    total = sum(int(r["in_network"]) + int(r["out_of_network"]) for r in rows)  # type: ignore[call-overload]
    print(json.dumps({"way": way, "seconds": seconds, "peak_gb": peak, "rows": len(rows), "total": total}))


def _once(way: str, folder: Path) -> dict[str, float]:
    cmd = [sys.executable, __file__, "_child", way, str(folder)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    res: dict[str, float] = json.loads(out)
    return res


def measure(ways: list[str], folder: Path, repeat: int) -> dict[str, dict[str, float]]:
    """Each way ``repeat`` times, interleaved (the machine is shared: best of n, peak memory the largest)."""
    best: dict[str, dict[str, float]] = {}
    for _ in range(repeat):
        for way in ways:
            r = _once(way, folder)
            b = best.setdefault(way, dict(r, runs=[]))  # type: ignore[arg-type]
            b["runs"].append(round(r["seconds"], 2))  # type: ignore[attr-defined]
            b["seconds"] = min(b["seconds"], r["seconds"])
            b["peak_gb"] = max(b["peak_gb"], r["peak_gb"])
            assert b["total"] == r["total"]
    for way, r in best.items():
        console.print(f"  {way:7s} best {r['seconds']:7.2f} s (runs {r['runs']})   peak {r['peak_gb']:5.2f} GB   "
                      f"total {r['total']}")
    return best


def make_limited(folder: Path, limit: int) -> Path:
    """The first ``limit`` claims as their own folder (so that all three ways read the same rows)."""
    small = folder.parent / f"{folder.name}-first-{limit}"
    if small.exists():
        return small
    (small / "claims").mkdir(parents=True)
    for name in ("designations.parquet", "institutions.parquet"):
        shutil.copyfile(folder / name, small / name)
    rows = 0
    for f in sorted((folder / "claims").glob("*.parquet")):
        if rows >= limit:
            break
        t = pq.read_table(f)
        t = t.slice(0, min(t.num_rows, limit - rows))
        pq.write_table(t, small / "claims" / f.name, row_group_size=1_000_000)
        rows += t.num_rows
    return small


# --------------------------------------------------------------------------------------------- commands

def bench_county(claims: int) -> None:
    import duckdb

    from yigongti.budget.service import settle_year, write_settlement
    from yigongti.core.engine import connect
    from yigongti.datafolder.folder import DataFolder

    console.print(f"county-year: generating {claims:,} adjudicated claims in memory ...")
    tables, des, adj = county(claims)
    data = DataFolder(DATA / "county", tables)
    con = connect("duckdb")
    # the one settlement use case, the county's designations and adjudicated claims handed in; P4P scores from the
    # policy (appraise=False: the synthetic county has no appraisal tables; bench_appraise times the appraisal)
    settle_year(data, YEAR, con=con, designations=des, adjudicated=adj.slice(0, 1000), appraise=False)  # warm up
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        result = settle_year(data, YEAR, con=con, designations=des, adjudicated=adj, appraise=False)
        runs.append(time.perf_counter() - t)
    settle_s = min(runs)
    raw = duckdb.connect()
    raw.register("claims", adj)
    raw.register("designations", des)
    raw.register("institutions", tables["institutions"])
    base = []
    for _ in range(3):
        t = time.perf_counter()
        raw.sql(sql_text("claims", "designations", "institutions")).to_arrow_table()
        base.append(time.perf_counter() - t)
    base_s = min(base)
    t = time.perf_counter()
    write_settlement(result, DATA / "county-out", reports=True)
    write_s = time.perf_counter() - t
    check = {(r["consortium_id"], r["month"]): (r["in_network"], r["out_of_network"])
             for r in raw.sql(sql_text("claims", "designations", "institutions")).to_arrow_table().to_pylist()}
    mine = {(r["consortium_id"], r["month"]): (r["in_network"], r["out_of_network"])
            for r in result.by_month.to_pylist()}
    assert check == mine, "the Ibis aggregation and the SQL baseline disagree"
    shown = ", ".join(f"{r:.2f}" for r in runs)
    console.print(f"settle_year, {claims:,} claims: best of 3 {settle_s:.2f} s (runs {shown})")
    console.print(f"baseline: core aggregation as one DuckDB SQL query on the same in-memory tables: {base_s:.2f} s")
    console.print(f"ratio settle / baseline: {settle_s / base_s:.2f}x;  writing CSVs + reports: {write_s:.2f} s")


def bench_core(claims: int, pandas_claims: int, keep: bool, repeat: int) -> None:
    folder = DATA / f"province-{claims}"
    if not (folder / "claims").exists():
        write_province(folder, claims)
    console.print(f"core aggregation from Parquet, {claims:,} claims (each run in its own process):")
    big = measure(["sql", "ibis"], folder, repeat)
    assert big["sql"]["total"] == big["ibis"]["total"]
    console.print(f"ratio Ibis / hand-written SQL: {big['ibis']['seconds'] / big['sql']['seconds']:.2f}x")
    small = make_limited(folder, pandas_claims) if pandas_claims < claims else folder
    console.print(f"on the first {min(pandas_claims, claims):,} claims (pandas comparison; pandas once):")
    few = measure(["sql", "ibis"], small, repeat)
    few.update(measure(["pandas"], small, 1))
    assert few["sql"]["total"] == few["ibis"]["total"] == few["pandas"]["total"]
    console.print(f"ratio pandas / Ibis: {few['pandas']['seconds'] / few['ibis']['seconds']:.2f}x; "
                  f"Ibis / SQL: {few['ibis']['seconds'] / few['sql']['seconds']:.2f}x")
    if not keep:
        shutil.rmtree(folder, ignore_errors=True)
        if small != folder:
            shutil.rmtree(small, ignore_errors=True)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        child(sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else None)
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=["county", "core"])
    p.add_argument("--claims", type=int, default=None)
    p.add_argument("--pandas-claims", type=int, default=20_000_000)
    p.add_argument("--keep", action="store_true", help="keep the generated data under benchmarks/data/")
    p.add_argument("--repeat", type=int, default=3, help="runs per way (best is reported)")
    a = p.parse_args()
    try:
        if a.what == "county":
            bench_county(a.claims or 3_500_000)
        else:
            bench_core(a.claims or 100_000_000, a.pandas_claims, a.keep, a.repeat)
    finally:
        if not a.keep:
            shutil.rmtree(DATA / "county-out", ignore_errors=True)


if __name__ == "__main__":
    main()
