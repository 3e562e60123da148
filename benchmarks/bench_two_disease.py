"""Benchmark: the two-disease outpatient drug benefit (两病用药保障) in the columnar adjudication, off and on.

    python benchmarks/bench_two_disease.py --claims 2_000_000 [--memory-limit 4GB] [--keep]

Generates the synthetic year of ``bench_adjudicate.py`` under benchmarks/data/two_disease_N/ with realistic main
diagnoses on the outpatient claims (about 25% hypertension I10-I15, 12% diabetes E10-E14, the rest J06.9), then runs
the engine (claims read from Parquet, the adjudicated table written to Parquet, unsorted, as ``yigongti adjudicate
--format parquet``) twice, each in its own process so that its peak RSS is its own: with the demo county's
two-disease benefit on (60%, 300 yuan a year, primary and county) and with the same policy but the benefit off;
both take the designated village and township rows off flat copay (deductible 50, 60%) so that the benefit has
claims to pay. Prints wall seconds,
CPU seconds, peak RSS and how many claims the benefit paid.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_adjudicate import DATA, YEAR, _cpu_s, _peak_mb, _run_phase, generate  # noqa: E402

ON = {"two_disease": {"enabled": True, "rate": "60%", "yearly_cap": "300", "tiers": ["primary", "county"]},
      "designated_primary": {"inpatient_deductible": "100", "inpatient_rate": "90%", "outpatient_deductible": "50",
                             "outpatient_rate": "60%"}}


def _diagnoses(folder: Path, seed: int = 11) -> None:
    """Main diagnoses: a person's chronic disease on about a third of their outpatient visits."""
    rng = np.random.default_rng(seed)
    for f in sorted((folder / "claims").glob("*.parquet")):
        t = pq.read_table(f)
        n = t.num_rows
        person = np.asarray(pc.cast(pc.utf8_slice_codeunits(t.column("person_id"), 1), pa.int64()))
        disease = (person * 2654435761 % 100)  # the same disease for a person in every part
        dx = np.where(disease < 25, "I10", np.where(disease < 37, "E11.9", "J06.9"))
        visit = rng.random(n) < 0.35
        dx = np.where(visit, dx, "J06.9")
        t = t.set_column(t.column_names.index("diagnosis"), "diagnosis", pa.array(dx))
        pq.write_table(t, f, row_group_size=1_000_000)


def phase(folder: Path, out: Path, memory_limit: str, on: bool) -> dict[str, Any]:
    from yigongti.benefits.engine import adjudicate
    from yigongti.core.engine import connect
    from yigongti.core.policy import BenefitPolicy

    policy = BenefitPolicy.model_validate(ON if on else {**ON, "two_disease": {"enabled": False}})
    con = connect("duckdb", keep_order=False, joins_as_written=True, memory_limit=memory_limit,
                  temp_directory=str(DATA / "spill"))
    t0, c0 = time.perf_counter(), _cpu_s()
    claims = con.read_parquet(str(folder / "claims" / "*.parquet"))
    expr = adjudicate(claims, con.read_parquet(str(folder / "persons.parquet")),
                      con.read_parquet(str(folder / "institutions.parquet")),
                      con.read_parquet(str(folder / "designations.parquet")), policy, YEAR, ordered=False)
    target = out / f"adjudicated_{'on' if on else 'off'}.parquet"
    con.to_parquet(expr, target)
    seconds = time.perf_counter() - t0
    rules = pq.read_table(target, columns=["rule", "fund_paid"])
    td = pc.equal(rules.column("rule"), "two_disease")
    return {"seconds": seconds, "cpu": _cpu_s() - c0, "peak_mb": _peak_mb(), "rows": rules.num_rows,
            "two_disease": int(pc.sum(td).as_py() or 0),
            "fund_paid": int(pc.sum(rules.column("fund_paid")).as_py() or 0)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--claims", type=lambda s: int(s.replace("_", "")), default=2_000_000)
    ap.add_argument("--memory-limit", default="4GB")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("--folder", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.phase:
        print(json.dumps(phase(Path(a.folder), Path(a.out), a.memory_limit, a.phase == "on")))
        return
    folder = DATA / f"two_disease_{a.claims}"
    out = DATA / f"two_disease_{a.claims}_out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    if not (folder / "claims").is_dir():
        t0 = time.perf_counter()
        info = generate(a.claims, folder)
        _diagnoses(folder)
        print(f"generated {info['claims']:,} claims of {info['persons']:,} persons in {time.perf_counter() - t0:.1f} s")
    results = {name: _run_phase(["--phase", name, "--folder", str(folder), "--out", str(out),
                                 "--memory-limit", a.memory_limit], __file__) for name in ("off", "on")}
    for name, r in results.items():
        print(f"{name:>3}: {r['rows']:,} claims in {r['seconds']:.2f} s wall, {r['cpu']:.1f} CPU s, "
              f"peak {r['peak_mb']:,.0f} MB, {r['two_disease']:,} paid by the two-disease benefit, "
              f"fund {r['fund_paid'] / 100:,.2f} yuan")
    print(f"on / off: {results['on']['seconds'] / results['off']['seconds']:.2f}x wall")
    if not a.keep:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
