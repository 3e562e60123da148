"""Benchmark: benefits adjudication (待遇结算) of N claims from Parquet.

    python benchmarks/bench_adjudicate.py --claims 10_000_000 [--pandas-sample 2_000_000] [--sorted] [--settle] [--keep]

Generates a synthetic county-scale year of claims under benchmarks/data/ (chunked NumPy/Arrow, money int64 fen), then
runs, each in its own process so that its peak memory (RSS) is its own:

- ``engine``: ``benefits.engine.adjudicate`` on DuckDB, claims read from Parquet by the engine, the full
  ``adjudicated`` table (every claims column + 5) written to Parquet, unsorted as ``yigongti adjudicate --format
  parquet`` writes it (``--sorted``: ordered by claim_id);
- ``copy``: the I/O floor, the claims read and written to Parquet unchanged by one DuckDB COPY;
- ``window``: the baseline, one bare DuckDB running-sum window query over the same claims (sum of covered_cost per
  person in (admit_date, claim_id) order) written to Parquet: the practical limit of a window pass;
- ``settle`` (``--settle``): adjudicate and settle in one engine query, the query ``settle_year`` streams a province's
  Parquet claims through (here on a synthetic folder that is not a whole data folder): the adjudication flows into
  the charged-spending sums per consortium, month, tier and diagnosis, nothing per claim written;
- ``pandas``: a straightforward pandas implementation of the same rules on the claims of the first persons
  (``--pandas-sample`` claims or so; pandas holds everything in memory), checked against the engine's answer for those
  persons to the fen.

Prints claims/s, peak RSS and the ratios; deletes the generated data unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data"
YEAR = 2026
CHUNK = 5_000_000
N_CONSORTIA = 12
TOWNSHIPS = 10  # per consortium
VILLAGES = 6  # per township
N_OUTSIDE = 20
_BLOCK = 2 + TOWNSHIPS * (1 + VILLAGES)  # a consortium's institutions in the registry


# --------------------------------------------------------------------------------------------- synthetic data

def _ids(prefix: str, idx: np.ndarray, width: int) -> pa.Array:
    """prefix + the numbers zero-padded to ``width`` (Arrow's string kernels: NumPy's ``np.char`` took most of the
    generation's time at 100 M claims)."""
    digits = pc.utf8_lpad(pa.array(idx, pa.int64()).cast(pa.string()), width, padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _names(names: list[str], codes: np.ndarray) -> pa.Array:
    """The names of ``codes`` (indexes of ``names``) as a plain string column."""
    return pa.array(names, pa.string()).take(pa.array(codes, pa.int64()))


def _registry() -> tuple[pa.Table, list[str]]:
    rows: list[tuple[str, str, int, str | None, str | None]] = []
    for c in range(N_CONSORTIA):
        cid = f"G{c:02d}"
        rows += [(f"{cid}-H", "county", 2, cid, None), (f"{cid}-M", "county", 2, cid, None)]
        for t in range(TOWNSHIPS):
            tid = f"{cid}-T{t}"
            rows.append((tid, "township", 1, cid, None))
            rows += [(f"{tid}-V{v}", "village", 0, cid, tid) for v in range(VILLAGES)]
    rows += [(f"X{k:02d}", "outside", 3 if k % 3 == 0 else 2, None, None) for k in range(N_OUTSIDE)]
    t = pa.table({"inst_id": [r[0] for r in rows], "tier": [r[1] for r in rows],
                  "level": pa.array([r[2] for r in rows], pa.int64()), "consortium_id": [r[3] for r in rows],
                  "parent_id": [r[4] for r in rows]})
    return t, [r[0] for r in rows]


def generate(n_claims: int, folder: Path, *, seed: int = 7, progress: Any = None) -> dict[str, int]:
    """persons (n/10), designations for YEAR, institutions and claims/part-*.parquet (with referred admissions)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    n_persons = max(1, n_claims // 10)
    inst, inst_names = _registry()
    pq.write_table(inst, folder / "institutions.parquet")
    pidx = np.arange(n_persons)
    cons = rng.integers(0, N_CONSORTIA, n_persons)
    town = rng.integers(0, TOWNSHIPS, n_persons)
    vill = rng.integers(0, VILLAGES, n_persons)
    person_ids = _ids("P", pidx, 9)
    cons_names = [f"G{c:02d}" for c in range(N_CONSORTIA)]
    town_names = [f"{c}-T{t}" for c in cons_names for t in range(TOWNSHIPS)]
    cons_s = _names(cons_names, cons)
    town_s = _names(town_names, cons * TOWNSHIPS + town)
    vill_s = _names([f"{t}-V{v}" for t in town_names for v in range(VILLAGES)], (cons * TOWNSHIPS + town) * VILLAGES
                    + vill)
    pq.write_table(pa.table({"person_id": person_ids, "insurance": pa.array(
        np.where(rng.random(n_persons) < 0.15, "employee", "resident"))}), folder / "persons.parquet")
    pq.write_table(pa.table({"person_id": person_ids, "year": pa.array(np.full(n_persons, YEAR), pa.int64()),
                             "consortium_id": cons_s, "township_id": town_s,
                             "village_id": vill_s}), folder / "designations.parquet")
    claims_dir = folder / "claims"
    claims_dir.mkdir(exist_ok=True)
    start = np.datetime64(date(YEAR, 1, 1)).astype("datetime64[D]").astype(np.int64)
    done = 0
    part = 0
    while done < n_claims:
        n = min(CHUNK, n_claims - done)
        n_base = int(n * 0.99)
        p = rng.integers(0, n_persons, n_base)
        where = rng.random(n_base)
        c_own, t_own, v_own = cons[p], town[p], vill[p]
        other_c = (c_own + rng.integers(1, N_CONSORTIA, n_base)) % N_CONSORTIA
        other_t = (t_own + rng.integers(1, TOWNSHIPS, n_base)) % TOWNSHIPS
        # the institution as its index in the registry (a consortium's block: H, M, then each township and its
        # villages): own village 30%, own township 20%, county hospital 12%, another township 18%, another
        # consortium's hospital 10%, outside 10%
        block = np.where(where < 0.80, c_own, other_c) * _BLOCK
        inst_code = np.where(
            where < 0.30, block + 2 + t_own * (1 + VILLAGES) + 1 + v_own,
            np.where(where < 0.50, block + 2 + t_own * (1 + VILLAGES),
                     np.where(where < 0.62, block,
                              np.where(where < 0.80, block + 2 + other_t * (1 + VILLAGES),
                                       np.where(where < 0.90, block,
                                                N_CONSORTIA * _BLOCK + rng.integers(0, N_OUTSIDE, n_base))))))
        inpatient = rng.random(n_base) < 0.05
        admit = start + rng.integers(-10, 365, n_base)
        stay = rng.integers(1, 15, n_base)
        covered = np.where(inpatient, rng.lognormal(8.8, 0.8, n_base), rng.lognormal(4.3, 0.9, n_base))
        covered = np.round(covered * 100).astype(np.int64)
        total = covered + np.round(covered * rng.uniform(0, 0.2, n_base)).astype(np.int64)
        ids = np.arange(done, done + n_base)
        # referred admissions: a second stay of the same person 0..20 days after discharge of an admission
        src = np.flatnonzero(inpatient)[: n - n_base]
        m = len(src)
        r_admit = admit[src] + stay[src] + rng.integers(0, 21, m)
        rids = np.arange(done + n_base, done + n_base + m)
        r_inst = N_CONSORTIA * _BLOCK + rng.integers(0, N_OUTSIDE, m)
        r_cov = np.round(rng.lognormal(9.3, 0.7, m) * 100).astype(np.int64)
        all_n = n_base + m
        table = pa.table({
            "claim_id": _ids("C", np.concatenate([ids, rids]), 10),
            "person_id": _ids("P", np.concatenate([p, p[src]]), 9),
            "inst_id": _names(inst_names, np.concatenate([inst_code, r_inst])),
            "setting": _names(["outpatient", "inpatient"], np.concatenate([inpatient, np.ones(m, bool)])),
            "emergency": pa.array(rng.random(all_n) < 0.03),
            "admit_date": pa.array(np.concatenate([admit, r_admit]).astype("datetime64[D]")),
            "discharge_date": pa.array(np.concatenate([admit + stay, r_admit + rng.integers(1, 10, m)]).astype(
                "datetime64[D]"), mask=~np.concatenate([inpatient, np.ones(m, bool)])),
            "total_cost": pa.array(np.concatenate([total, r_cov + r_cov // 10])),
            "covered_cost": pa.array(np.concatenate([covered, r_cov])),
            "diagnosis": _names(["J06.9"], np.zeros(all_n, np.int64)),
            "referral_from": pa.concat_arrays([pa.nulls(n_base, pa.string()), _ids("C", ids[src], 10)]),
            "unreasonable": pa.array(rng.random(all_n) < 0.01),
        })
        pq.write_table(table, claims_dir / f"part-{part:04d}.parquet", row_group_size=1_000_000)
        done += all_n
        part += 1
        if progress is not None:
            progress(all_n)
    return {"claims": done, "persons": n_persons}


# --------------------------------------------------------------------------------------------- phases

def _peak_mb() -> float:
    """This process's peak RSS (VmHWM: reset by exec, unlike ru_maxrss which a child inherits)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def phase_engine(folder: Path, out: Path, memory_limit: str, ordered: bool = False) -> dict[str, Any]:

    from yigongti.benefits.engine import adjudicate
    from yigongti.core.engine import connect
    from yigongti.core.policy import BenefitPolicy

    con = connect("duckdb", keep_order=ordered, joins_as_written=True, memory_limit=memory_limit,
                  temp_directory=str(DATA / "spill"))  # as the service does
    t0, c0 = time.perf_counter(), _cpu_s()
    claims = con.read_parquet(str(folder / "claims" / "*.parquet"))
    expr = adjudicate(claims, con.read_parquet(str(folder / "persons.parquet")),
                      con.read_parquet(str(folder / "institutions.parquet")),
                      con.read_parquet(str(folder / "designations.parquet")), BenefitPolicy(), YEAR,
                      ordered=ordered)
    con.to_parquet(expr, out / "adjudicated.parquet")
    seconds = time.perf_counter() - t0
    rows = pq.ParquetFile(out / "adjudicated.parquet").metadata.num_rows
    return {"seconds": seconds, "rows": rows, "peak_mb": _peak_mb(), "cpu": _cpu_s() - c0}


def phase_settle(folder: Path, out: Path, memory_limit: str) -> dict[str, Any]:
    """Adjudicate and settle in one engine query, as ``settle_year`` streams a province's claims: the adjudication
    (unsorted) flows into
    the charged spending summed per consortium, month, tier and out-of-network diagnosis; nothing per claim is
    written. Rows = claims adjudicated."""
    import pyarrow.compute as pc

    from yigongti.benefits.engine import adjudicate
    from yigongti.budget import engine as q
    from yigongti.budget.service import SETTLED_CLAIMS_COLUMNS
    from yigongti.core.engine import connect
    from yigongti.core.policy import BenefitPolicy

    con = connect("duckdb", keep_order=False, joins_as_written=True, memory_limit=memory_limit,
                  temp_directory=str(DATA / "spill"))  # as settle_year streams
    t0, c0 = time.perf_counter(), _cpu_s()
    claims = con.read_parquet(str(folder / "claims" / "*.parquet"))
    inst = con.read_parquet(str(folder / "institutions.parquet"))
    des = con.read_parquet(str(folder / "designations.parquet"))
    adj = adjudicate(claims, con.read_parquet(str(folder / "persons.parquet")), inst, des, BenefitPolicy(), YEAR,
                     ordered=False, designated=True,
                     columns=SETTLED_CLAIMS_COLUMNS)
    summary = q.charged_summary(q.charged_spending(adj, des, inst, year=YEAR)).to_pyarrow()
    seconds = time.perf_counter() - t0
    rows = int(sum(pq.ParquetFile(f).metadata.num_rows for f in (folder / "claims").glob("*.parquet")))
    return {"seconds": seconds, "rows": rows, "peak_mb": _peak_mb(), "cpu": _cpu_s() - c0,
            "summary_rows": summary.num_rows, "fund": int(pc.sum(summary.column("fund_paid")).as_py())}


def phase_core(folder: Path, out: Path, memory_limit: str) -> dict[str, Any]:
    """The yardstick of the issue's scale target: the settlement's core aggregation as one hand-written DuckDB query
    over the same claims (joined to designations and institutions, the D1 conditions, summed per consortium and
    month), covered_cost standing in for the fund payment these claims do not have yet."""
    import duckdb

    con = duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": str(DATA / "spill")})
    t0, c0 = time.perf_counter(), _cpu_s()
    rows = con.execute(f"""
        SELECT d.consortium_id, month(a.admit_date) AS month,
               sum(CASE WHEN i.consortium_id = d.consortium_id THEN a.covered_cost ELSE 0 END) AS in_network,
               sum(CASE WHEN i.consortium_id = d.consortium_id THEN 0 ELSE a.covered_cost END) AS out_of_network
        FROM read_parquet('{folder / "claims" / "*.parquet"}') a
        JOIN read_parquet('{folder / "designations.parquet"}') d ON d.person_id = a.person_id AND d.year = {YEAR}
        JOIN read_parquet('{folder / "institutions.parquet"}') i ON i.inst_id = a.inst_id
        WHERE a.admit_date >= DATE '{YEAR}-01-01' AND a.admit_date < DATE '{YEAR + 1}-01-01' AND NOT a.unreasonable
          AND (i.consortium_id = d.consortium_id OR i.tier = 'outside' OR a.emergency)
        GROUP BY ALL ORDER BY 1, 2""").fetchall()
    seconds = time.perf_counter() - t0
    n = int(sum(pq.ParquetFile(f).metadata.num_rows for f in (folder / "claims").glob("*.parquet")))
    return {"seconds": seconds, "rows": n, "peak_mb": _peak_mb(), "cpu": _cpu_s() - c0, "groups": len(rows)}


def phase_window(folder: Path, out: Path, memory_limit: str) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": str(DATA / "spill")})
    t0, c0 = time.perf_counter(), _cpu_s()
    src = str(folder / "claims" / "*.parquet")
    con.execute(f"""COPY (SELECT claim_id, person_id, sum(covered_cost) OVER (PARTITION BY person_id
                    ORDER BY admit_date, claim_id ROWS UNBOUNDED PRECEDING) AS running
                    FROM read_parquet('{src}')) TO '{out / "window.parquet"}' (FORMAT parquet)""")
    seconds = time.perf_counter() - t0
    rows = pq.ParquetFile(out / "window.parquet").metadata.num_rows
    return {"seconds": seconds, "rows": rows, "peak_mb": _peak_mb(), "cpu": _cpu_s() - c0}


def phase_copy(folder: Path, out: Path, memory_limit: str) -> dict[str, Any]:
    """The I/O floor: the claims read and written to Parquet unchanged (every column, no computation)."""
    import duckdb

    con = duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": str(DATA / "spill")})
    t0, c0 = time.perf_counter(), _cpu_s()
    src = str(folder / "claims" / "*.parquet")
    con.execute(f"COPY (SELECT * FROM read_parquet('{src}')) TO '{out / 'copy.parquet'}' (FORMAT parquet)")
    seconds = time.perf_counter() - t0
    rows = pq.ParquetFile(out / "copy.parquet").metadata.num_rows
    (out / "copy.parquet").unlink()
    return {"seconds": seconds, "rows": rows, "peak_mb": _peak_mb(), "cpu": _cpu_s() - c0}


def phase_pandas(folder: Path, out: Path, sample_persons: int) -> dict[str, Any]:
    import pandas as pd

    t0, c0 = time.perf_counter(), _cpu_s()
    limit = f"P{sample_persons:09d}"
    claims = pd.read_parquet(folder / "claims", filters=[("person_id", "<", limit)])
    for col in ("admit_date", "discharge_date"):
        claims[col] = pd.to_datetime(claims[col])
    persons = pd.read_parquet(folder / "persons.parquet", filters=[("person_id", "<", limit)])
    des = pd.read_parquet(folder / "designations.parquet", filters=[("person_id", "<", limit)]).rename(
        columns={"consortium_id": "d_cons", "township_id": "d_town", "village_id": "d_vill"})
    inst = pd.read_parquet(folder / "institutions.parquet").drop(columns="parent_id")
    res = pandas_rules(claims, persons, inst, des)
    seconds = time.perf_counter() - t0
    res[["claim_id", "fund_paid", "deductible"]].to_parquet(out / "pandas.parquet")
    return {"seconds": seconds, "rows": len(res), "peak_mb": _peak_mb(), "cpu": _cpu_s() - c0,
            "fund": int(res.fund_paid.sum()),
            "limit": limit}


def pandas_rules(claims: Any, persons: Any, inst: Any, des: Any) -> Any:
    """rules.md B in plain pandas with the default policy: merges, vectorised columns, groupby cumsums."""
    import pandas as pd

    from yigongti.core.policy import BenefitPolicy

    pol = BenefitPolicy()
    names = ("designated_primary", "designated_county", "in_consortium_primary", "in_consortium_county",
             "outside_secondary", "outside_tertiary")
    rows = {n: getattr(pol, n) for n in names}
    c = claims.merge(persons, on="person_id", how="left").merge(
        des[des.year == YEAR].drop(columns="year"), on="person_id", how="left").merge(inst, on="inst_id", how="left")
    outside = (c.consortium_id.isna() | (c.tier == "outside")).to_numpy()
    other = ~outside & (c.consortium_id != c.d_cons).to_numpy()
    designated = ~outside & ~other & ((c.tier == "county") | (c.inst_id == c.d_town) | (c.inst_id == c.d_vill)
                                      ).to_numpy()
    c["network_status"] = np.select([outside, other, designated], ["outside", "other_consortium", "designated"],
                                    "in_consortium")
    primary = c.tier.isin(["township", "village"]).to_numpy()
    row = np.select([outside | other, designated],
                    [np.where(c.level.to_numpy() >= 3, "outside_tertiary", "outside_secondary"),
                     np.where(primary, "designated_primary", "designated_county")],
                    np.where(primary, "in_consortium_primary", "in_consortium_county"))
    inp = (c.setting == "inpatient").to_numpy()
    emp = (c.insurance == "employee").to_numpy()
    unr = c.unreasonable.to_numpy()
    pays = ~unr & (~other | c.emergency.to_numpy())
    n = len(c)
    d_ip, d_op, rate = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64)
    flat = np.zeros(n, bool)
    for name, r in rows.items():
        m = row == name
        d_ip[m], d_op[m], flat[m] = r.inpatient_deductible, r.outpatient_deductible, r.outpatient_flat_copay
        for is_emp, ins in ((False, "resident"), (True, "employee")):
            mm = m & (emp == is_emp)
            rate[mm & inp] = pol.fund_rate(r, inpatient=True, insurance=ins)
            rate[mm & ~inp] = pol.fund_rate(r, inpatient=False, insurance=ins)
    flat &= pays & ~inp
    c["d_ip"] = np.where(pays & inp, d_ip, 0)
    c["d_op"] = np.where(pays & ~inp & ~flat, d_op, 0)
    c["rate"], c["flat"], c["pays"], c["inp"], c["unr"] = rate, flat, pays, inp, unr
    c["ded_ip"] = np.minimum(c.covered_cost.to_numpy(), c.d_ip.to_numpy())
    c["cont"] = False
    # continuous deductible across referrals: a merge, then iterate along chains
    a = c[c.inp & c.referral_from.notna()][["claim_id", "person_id", "admit_date", "referral_from"]]
    r = c[c.inp][["claim_id", "person_id", "admit_date", "discharge_date"]].rename(columns={
        "claim_id": "referral_from", "person_id": "r_person", "admit_date": "r_admit", "discharge_date": "r_dis"})
    e = a.merge(r, on="referral_from")
    gap = (e.admit_date - e.r_dis).dt.days
    e = e[(e.r_person == e.person_id) & ((e.r_admit < e.admit_date) | ((e.r_admit == e.admit_date) & (
        e.referral_from < e.claim_id))) & (gap >= 0) & (gap <= pol.continuous_deductible_days)]
    if len(e):
        c = c.set_index("claim_id", drop=False)
        own_d = c.d_ip.reindex(e.claim_id).to_numpy()
        own_c = c.covered_cost.reindex(e.claim_id).to_numpy()
        ded = c.ded_ip.copy()
        for _ in range(8):  # longer chains than this do not occur in the synthetic data
            ded.loc[e.claim_id.to_numpy()] = np.minimum(own_c, np.maximum(0, own_d - ded.reindex(
                e.referral_from).to_numpy()))
        c["ded_ip"] = ded
        c["cont"] = c.claim_id.isin(e.claim_id)
        c = c.reset_index(drop=True)
    c = c[(c.admit_date >= pd.Timestamp(YEAR, 1, 1)) & (c.admit_date <= pd.Timestamp(YEAR, 12, 31))]
    c = c.sort_values(["person_id", "admit_date", "claim_id"], kind="mergesort").reset_index(drop=True)
    cov = c.covered_cost.to_numpy()
    d_op = c.d_op.to_numpy()
    inc = np.zeros(len(c), np.int64)
    levels = sorted({r.outpatient_deductible for r in rows.values()
                     if not r.outpatient_flat_copay and r.outpatient_deductible > 0})
    for level in levels:
        x = np.where(d_op >= level, cov, inc)
        cum = pd.Series(x).groupby(c.person_id.to_numpy()).cumsum().to_numpy()
        inc = np.minimum(level, cum) - np.minimum(level, cum - x)
    pays, flat, inp = c.pays.to_numpy(), c.flat.to_numpy(), c.inp.to_numpy()
    ded = np.where(~pays | flat, 0, np.where(inp, c.ded_ip.to_numpy(), inc))
    f0 = np.where(~pays, 0, np.where(flat, cov - np.minimum(cov, pol.flat_copay),
                                     (2 * (cov - ded) * c.rate.to_numpy() + 10_000) // 20_000))
    cap = np.where(c.insurance.to_numpy() == "employee", pol.annual_cap("employee"), pol.annual_cap("resident"))
    cumf = pd.Series(f0).groupby(c.person_id.to_numpy()).cumsum().to_numpy()
    fund = np.minimum(cap, cumf) - np.minimum(cap, cumf - f0)
    c["deductible"], c["fund_paid"] = ded, fund
    c["patient_paid"] = c.total_cost.to_numpy() - fund
    return c


# --------------------------------------------------------------------------------------------- driver

def _run_phase(args: list[str], script: str = __file__) -> dict[str, Any]:
    """Run ``script`` (this one by default) with ``args`` in a process of its own; its last line of JSON."""
    cmd = [sys.executable, script, *args]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{res.stderr[-4000:]}")
    return dict(json.loads(res.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--claims", type=lambda s: int(s.replace("_", "")), default=10_000_000)
    ap.add_argument("--pandas-sample", type=lambda s: int(s.replace("_", "")), default=2_000_000,
                    help="claims (about) for the pandas run: the claims of the first persons")
    ap.add_argument("--memory-limit", default="4GB", help="DuckDB memory_limit for the engine and the baseline")
    ap.add_argument("--keep", action="store_true", help="keep the generated data")
    ap.add_argument("--settle", action="store_true", help="also adjudicate + settle in one engine query (issue 5)")
    ap.add_argument("--sorted", action="store_true", help="the engine's output ordered by claim_id (an external sort)")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("--folder", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--sample-persons", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.phase:
        folder, out = Path(a.folder), Path(a.out)
        result = {"engine": lambda: phase_engine(folder, out, a.memory_limit, a.sorted),
                  "window": lambda: phase_window(folder, out, a.memory_limit),
                  "copy": lambda: phase_copy(folder, out, a.memory_limit),
                  "settle": lambda: phase_settle(folder, out, a.memory_limit),
                  "core": lambda: phase_core(folder, out, a.memory_limit),
                  "pandas": lambda: phase_pandas(folder, out, a.sample_persons)}[a.phase]()
        print(json.dumps(result))
        return

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    console = Console(width=150)
    load_before = f"{os.getloadavg()[0]:.1f}"
    folder = DATA / f"adjudicate_{a.claims}"
    out = DATA / f"adjudicate_{a.claims}_out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        if not (folder / "claims").is_dir():
            task = progress.add_task("generating claims / 生成结算数据", total=a.claims)
            t0 = time.perf_counter()
            info = generate(a.claims, folder, progress=lambda n: progress.advance(task, n))
            console.print(f"generated {info['claims']:,} claims of {info['persons']:,} persons in "
                          f"{time.perf_counter() - t0:.1f} s")
        n_persons = pq.ParquetFile(folder / "persons.parquet").metadata.num_rows
        sample_persons = max(1, min(n_persons, a.pandas_sample // 10))
        phases: list[tuple[str, list[str]]] = [("copy", []), ("window", []),
                                               ("engine", ["--sorted"] if a.sorted else []),
                                               ("pandas", ["--sample-persons", str(sample_persons)])]
        if a.settle:
            phases[3:3] = [("settle", []), ("core", [])]
        steps = progress.add_task("phases / 测试阶段", total=len(phases))
        results: dict[str, dict[str, Any]] = {}
        for name, extra in phases:
            progress.update(steps, description=f"running {name}")
            results[name] = _run_phase(["--phase", name, "--folder", str(folder), "--out", str(out),
                                        "--memory-limit", a.memory_limit, *extra])
            progress.advance(steps)
    # the engine's answer for the pandas sample, to the fen
    eng = pq.read_table(out / "adjudicated.parquet", columns=["claim_id", "person_id", "fund_paid", "deductible"],
                        filters=[("person_id", "<", results["pandas"]["limit"])])
    pan = pq.read_table(out / "pandas.parquet")
    cols = ["claim_id", "fund_paid", "deductible"]
    left = eng.select(cols).sort_by("claim_id")
    right = pan.select(cols).cast(left.schema).sort_by("claim_id")
    same = eng.num_rows == pan.num_rows and left.equals(right)

    table = Table(title=f"adjudication of {results['engine']['rows']:,} claims of {YEAR} (2 cores, shared)")
    for col in ("run", "claims", "wall s", "claims/s", "CPU s", "claims/CPU s", "peak RSS MB"):
        table.add_column(col, justify="right" if col != "run" else "left")
    rate: dict[str, float] = {}
    cpu_rate: dict[str, float] = {}
    engine_label = "engine (Ibis on DuckDB) -> Parquet" + (", sorted" if a.sorted else "")
    for name, label in (("engine", engine_label), ("settle", "adjudicate + settle sums (yigongti settle)"),
                        ("core", "hand-written core settlement query (yardstick)"),
                        ("window", "bare DuckDB running sum"), ("copy", "bare copy of the claims (I/O floor)"),
                        ("pandas", "pandas, same rules (sample)")):
        if name not in results:
            continue
        r = results[name]
        rate[name] = r["rows"] / r["seconds"]
        cpu_rate[name] = r["rows"] / r["cpu"]
        table.add_row(label, f"{r['rows']:,}", f"{r['seconds']:.2f}", f"{rate[name]:,.0f}", f"{r['cpu']:.1f}",
                      f"{cpu_rate[name]:,.0f}", f"{r['peak_mb']:,.0f}")
    console.print(table)
    console.print(f"engine / pandas: {rate['engine'] / rate['pandas']:.1f}x faster per claim (wall), "
                  f"{cpu_rate['engine'] / cpu_rate['pandas']:.1f}x (CPU); engine / bare window query: "
                  f"{rate['engine'] / rate['window']:.2f} of its rate (wall), "
                  f"{cpu_rate['engine'] / cpu_rate['window']:.2f} (CPU); engine / bare copy: "
                  f"{rate['engine'] / rate['copy']:.2f} of its rate (wall)")
    if "settle" in results:
        r = results["settle"]
        console.print(f"adjudicate + settle sums: {r['seconds']:.1f} s, {r['summary_rows']:,} summary rows, fund "
                      f"charged {r['fund'] / 100:,.2f} yuan; "
                      f"engine to Parquet alone: {results['engine']['seconds']:.1f} s")
        core = results["core"]["seconds"]
        console.print(f"the issue's yardstick: adjudicate + settle took {r['seconds'] / core:.1f}x "
                      "the hand-written core "
                      f"query ({core:.1f} s); the issue's target at 100 M claims is 30 s where that query takes about "
                      f"4 s, i.e. 7.5x")
    console.print(f"load average before / after: {load_before} / {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    console.print(f"pandas and engine agree on the sample ({pan.num_rows:,} claims) to the fen: {same}")
    if not a.keep:
        shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(DATA / "spill", ignore_errors=True)


if __name__ == "__main__":
    main()
