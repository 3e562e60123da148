"""Benchmark: the performance appraisal (绩效考核) of a demo county-year.

    python benchmarks/bench_appraise.py [--persons 174000] [--keep]

Generates a demo county (``generate_demo``) with the nine appraisal tables (``write_appraisal_tables``) under
benchmarks/data/appraise/ (git-ignored), reads it, designates (``enroll_data``) and makes a synthetic ``adjudicated``
table (fund pays 70% of the covered cost: the appraisal only reads fund_paid). Then it times:

- the engine: every measure of the national-2024 set for every scope (``compute_measures``, this year and last);
- the whole use case ``appraise_data`` (measures for this year and last, indicator values, scores, grades);
- the report (HTML with charts and Excel);
- the baseline, in the same run: one hand-written DuckDB SQL query over the same Arrow tables computing two of the
  measures (outpatient visits and total cost of each consortium's enrollees): the cost of one grouped scan.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from yigongti.appraisal.engine import MeasureInputs, compute_measures
from yigongti.appraisal.indicator_sets import load_indicator_set
from yigongti.appraisal.report import appraisal_html, appraisal_xlsx
from yigongti.appraisal.service import appraise_data
from yigongti.core.policy import Policy
from yigongti.datafolder.folder import read_folder
from yigongti.datafolder.schema import APPRAISAL_TABLES
from yigongti.demo import generate_demo
from yigongti.demo.appraisal import write_appraisal_tables
from yigongti.enrollment.service import enroll_data

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "appraise"
YEAR = 2026
console = Console()

BASELINE_SQL = """
SELECT d.consortium_id,
       count(*) FILTER (WHERE c.setting = 'outpatient') AS visits_res,
       sum(c.total_cost) AS cost_res
FROM claims c JOIN des d USING (person_id)
WHERE year(c.admit_date) = 2026
GROUP BY d.consortium_id
"""


CPU: dict[float, float] = {}  # wall time -> CPU time of the same step (all threads of this process)


def timed(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    t, c = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    wall = time.perf_counter() - t
    CPU[wall] = time.process_time() - c
    return out, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--persons", type=int, default=174_000)
    ap.add_argument("--keep", action="store_true", help="keep the generated folder")
    args = ap.parse_args()
    folder = DATA / f"demo-{args.persons}"
    rows: list[tuple[str, float, str]] = []
    with Progress(console=console) as progress:
        task = progress.add_task("appraise benchmark", total=8)
        if not folder.exists():
            generate_demo(folder, persons=args.persons, seed=1, year=YEAR)
        progress.advance(task)
        _, t = timed(write_appraisal_tables, folder, seed=1, year=YEAR)
        rows.append(("write_appraisal_tables (9 tables)", t, ""))
        progress.advance(task)
        data, t = timed(read_folder, folder)
        rows.append(("read_folder (all tables, checked)", t, ""))
        progress.advance(task)
        res, t = timed(enroll_data, data, YEAR, Policy())
        des = res.designations
        rows.append(("enroll_data (designations)", t, ""))
        progress.advance(task)
        claims = data["claims"]
        fund = pc.cast(pc.divide(pc.multiply(claims.column("covered_cost"), 7), 10), pa.int64())
        adjudicated = pa.table({"claim_id": claims.column("claim_id"), "fund_paid": fund})
        iset = load_indicator_set()
        extra = {t.name: data[t.name] for t in APPRAISAL_TABLES if data.get(t.name) is not None}
        inputs = MeasureInputs(data["institutions"], data["consortia"], data["persons"], des, claims, adjudicated,
                               extra)
        measures, t_engine = timed(compute_measures, inputs, year=YEAR, params=iset.parameters,
                                   wanted=iset.needed_measures())
        progress.advance(task)
        result, t_case = timed(appraise_data, data, YEAR, Policy(), des, adjudicated)
        progress.advance(task)
        _, t_report = timed(lambda: (appraisal_html(result), appraisal_xlsx(result)))
        progress.advance(task)
        con = duckdb.connect()
        con.register("claims", claims)
        con.register("des", des)
        _, t_base = timed(lambda: con.sql(BASELINE_SQL).to_arrow_table())
        con.close()
        progress.advance(task)
    n_claims = claims.num_rows
    rows += [
        ("engine: all measures, all scopes (compute_measures)", t_engine,
         f"{len(measures.available)} measures, {measures.values.num_rows:,} values"),
        ("use case: appraise_data (this year + last, scores)", t_case,
         f"{result.indicators.num_rows:,} indicator values, {result.scores.num_rows:,} scores"),
        ("report: HTML + Excel", t_report, ""),
        ("baseline: one grouped DuckDB SQL scan (2 measures)", t_base, ""),
    ]
    table = Table(title=f"appraisal of {args.persons:,} persons, {n_claims:,} claims")
    table.add_column("step")
    table.add_column("wall s", justify="right")
    table.add_column("CPU s", justify="right")
    table.add_column("note")
    for name, t, note in rows:
        table.add_row(name, f"{t:.2f}", f"{CPU.get(t, 0.0):.2f}", note)
    console.print(table)
    console.print(f"engine / baseline: {t_engine / t_base:.1f}x wall, {CPU[t_engine] / CPU[t_base]:.1f}x CPU "
                  f"(the engine computes "
                  f"{len(measures.available)} measures x 3 scope kinds, the baseline 2 measures for consortia)")
    console.print(f"claims per second through the engine: {n_claims / t_engine:,.0f}")
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
