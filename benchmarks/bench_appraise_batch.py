"""Benchmark: one simulator batch's appraisal alone (绩效考核, issue 22 item 5), main against this tree.

    python benchmarks/bench_appraise_batch.py [--persons 20000] [--replicates 25] [--calls 3] [--baseline SRC]

Generates the shipped pilot's ``centre-middle`` county (``--persons``) under benchmarks/data/, runs one simulated
year of ``--replicates`` replicates with this tree and keeps what its batched ``appraise_data`` call was given (the
stacked folder's tables, the designations, the adjudication carrying the claims' columns, the policy and indicator
set); then, each tree in a fresh process (DuckDB on 1 thread), calls ``appraise_data`` on them ``--calls`` times as
the simulator does and prints the CPU seconds (user + sys, the engine's threads included) of each call and a hash
of the indicators, scores and points (the same in both trees). ``--baseline SRC``: also main's ``src`` in the same
run, before and after this tree's.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "appraise_batch"
SRC = HERE.parent / "src"


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def capture(persons: int, replicates: int) -> None:
    """The inputs of the batch's appraisal, as Arrow files under DATA/batch."""
    import pyarrow as pa
    import pyarrow.feather as fe

    from yigongti.simulator import service
    from yigongti.simulator.domain import load_scenarios
    from yigongti.simulator.pilot import PILOT_4X3, read_pilot_design, write_pilot

    design = read_pilot_design(PILOT_4X3)
    design = design.model_copy(update={"counties": tuple(c for c in design.counties if c.name == "centre-middle")})
    write_pilot(design, DATA / "pilot", persons=persons)
    real, out = service.appraise_data, DATA / "batch"

    def keep(data: Any, year: int, policy: Any, des: Any, adjudicated: Any, **kw: Any) -> Any:
        claims = data["claims"]
        stacked = claims.num_rows > 0 and "#" in str(claims["claim_id"][0].as_py())  # keys prefixed per replicate
        if stacked and not out.exists():
            out.mkdir(parents=True)
            for name, table in data.tables.items():
                if isinstance(table, pa.Table):
                    fe.write_feather(table, out / f"{name}.arrow", compression="uncompressed")
            fe.write_feather(des, out / "_designations.arrow", compression="uncompressed")
            fe.write_feather(adjudicated, out / "_adjudicated.arrow", compression="uncompressed")
            (out / "args.pkl").write_bytes(pickle.dumps((year, policy, str(data.path), kw)))
        return real(data, year, policy, des, adjudicated, **kw)

    service.appraise_data = keep  # type: ignore[assignment]
    setup = service.prepare_county("centre-middle", DATA / "pilot" / "centre-middle")
    scenario = load_scenarios("[scenarios.global_budget]\n")[0]
    service.simulate_county(setup, scenario, county_index=0, years=1, replicates=replicates, seed=1)


def _digest(*tables: Any) -> str:
    import pyarrow as pa

    h = hashlib.sha256()
    for t in tables:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, t.schema) as w:
            w.write_table(t.combine_chunks())
        h.update(sink.getvalue().to_pybytes())
    return h.hexdigest()[:16]


def measure(calls: int) -> None:
    import pyarrow.feather as fe

    from yigongti.appraisal.service import appraise_data
    from yigongti.datafolder.folder import DataFolder

    batch = DATA / "batch"
    year, policy, path, kw = pickle.loads((batch / "args.pkl").read_bytes())
    tables = {p.stem: fe.read_table(p, memory_map=False) for p in batch.glob("*.arrow")}
    des, adj = tables.pop("_designations"), tables.pop("_adjudicated")
    data = DataFolder(Path(path), tables)
    spent = []
    for _ in range(calls):
        c = _cpu()
        out = appraise_data(data, year, policy, des, adj, **kw)
        spent.append(_cpu() - c)
    print(f"{out.indicators.num_rows:,} indicator rows; CPU s per call: {', '.join(f'{s:.2f}' for s in spent)}; "
          f"hash {_digest(out.indicators, out.scores, out.points)}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=20_000)
    ap.add_argument("--replicates", type=int, default=25)
    ap.add_argument("--calls", type=int, default=3)
    ap.add_argument("--baseline", type=Path, default=None, help="src of the tree to compare with (main's)")
    ap.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--keep", action="store_true", help="reuse the batch captured by an earlier run")
    args = ap.parse_args()
    if args.measure:
        measure(args.calls)
        return
    env = {**os.environ, "YIGONGTI_DUCKDB_THREADS": "1"}
    if not (args.keep and (DATA / "batch" / "args.pkl").exists()):
        subprocess.run(["rm", "-rf", str(DATA)], check=True)
        subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(HERE)!r}); "
                        f"import bench_appraise_batch as b; b.capture({args.persons}, {args.replicates})"],
                       env={**env, "PYTHONPATH": str(SRC)}, check=True)
    trees = [("this tree", SRC)] + ([("baseline", args.baseline)] if args.baseline else [])
    for label, src in trees + trees[::-1][1:] if args.baseline else trees:  # the load drifts: both ways
        out = subprocess.run([sys.executable, __file__, "--measure", "--calls", str(args.calls)],
                             env={**env, "PYTHONPATH": str(src)}, check=True, capture_output=True, text=True)
        print(f"{label} ({src}): {out.stdout.strip().splitlines()[-1]}")


if __name__ == "__main__":
    main()
