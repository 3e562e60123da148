"""Benchmark: one simulator batch's adjudication alone (待遇结算, issue 22 item 5), main against this tree.

    python benchmarks/bench_adjudicate_batch.py [--persons 20000] [--replicates 25] [--calls 3] [--baseline SRC]

Generates the shipped pilot's ``centre-middle`` county (``--persons``) under benchmarks/data/, runs one simulated
year of ``--replicates`` replicates with this tree and keeps the tables its batched ``adjudicate_data`` call was
given (this year's and last year's claims of every replicate, keys prefixed per replicate); then, each tree in a
fresh process (DuckDB on 1 thread), calls ``adjudicate_data`` on them ``--calls`` times and prints the CPU seconds
(user + sys, the engine's threads included) of each call and a hash of the adjudicated table (the same in both
trees). ``--baseline SRC``: also main's ``src`` in the same run, before and after this tree's.
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
DATA = HERE / "data" / "adjudicate_batch"
SRC = HERE.parent / "src"


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def capture(persons: int, replicates: int) -> None:
    """The tables of the batch's adjudication, as Arrow files under DATA/batch."""
    import pyarrow as pa
    import pyarrow.feather as fe

    from yigongti.simulator import service
    from yigongti.simulator.domain import load_scenarios
    from yigongti.simulator.pilot import PILOT_4X3, read_pilot_design, write_pilot

    design = read_pilot_design(PILOT_4X3)
    design = design.model_copy(update={"counties": tuple(c for c in design.counties if c.name == "centre-middle")})
    write_pilot(design, DATA / "pilot", persons=persons)
    real, out = service.adjudicate_data, DATA / "batch"

    def keep(data: Any, year: int, policy: Any, des: Any = None, **kw: Any) -> Any:
        claims = data["claims"]
        stacked = claims.num_rows > 0 and "#" in str(claims["claim_id"][0].as_py())  # keys prefixed per replicate
        if stacked and not out.exists():
            out.mkdir(parents=True)
            for name, table in data.tables.items():
                if isinstance(table, pa.Table):
                    fe.write_feather(table, out / f"{name}.arrow", compression="uncompressed")
            (out / "args.pkl").write_bytes(pickle.dumps((year, policy, str(data.path))))
        return real(data, year, policy, des, **kw)

    service.adjudicate_data = keep  # type: ignore[assignment]
    setup = service.prepare_county("centre-middle", DATA / "pilot" / "centre-middle")
    scenario = load_scenarios("[scenarios.global_budget]\n")[0]
    service.simulate_county(setup, scenario, county_index=0, years=1, replicates=replicates, seed=1)


def measure(calls: int) -> None:
    import pyarrow as pa
    import pyarrow.feather as fe

    from yigongti.benefits.service import adjudicate_data
    from yigongti.datafolder.folder import DataFolder

    batch = DATA / "batch"
    year, policy, path = pickle.loads((batch / "args.pkl").read_bytes())
    tables = {p.stem: fe.read_table(p, memory_map=False) for p in batch.glob("*.arrow")}
    data = DataFolder(Path(path), tables)
    spent = []
    for _ in range(calls):
        c = _cpu()
        out = adjudicate_data(data, year, policy, tables["designations"])
        spent.append(_cpu() - c)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, out.schema) as w:
        w.write_table(out.combine_chunks())
    digest = hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()[:16]
    print(f"{tables['claims'].num_rows:,} claim rows in, {out.num_rows:,} decided; CPU s per call: "
          f"{', '.join(f'{s:.2f}' for s in spent)}; table hash {digest}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=20_000)
    ap.add_argument("--replicates", type=int, default=25)
    ap.add_argument("--calls", type=int, default=3)
    ap.add_argument("--baseline", type=Path, default=None, help="src of the tree to compare with (main's)")
    ap.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        measure(args.calls)
        return
    env = {**os.environ, "YIGONGTI_DUCKDB_THREADS": "1"}
    subprocess.run(["rm", "-rf", str(DATA)], check=True)
    subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(HERE)!r}); "
                    f"import bench_adjudicate_batch as b; b.capture({args.persons}, {args.replicates})"],
                   env={**env, "PYTHONPATH": str(SRC)}, check=True)
    trees = [("this tree", SRC)] + ([("baseline", args.baseline)] if args.baseline else [])
    for label, src in trees + trees[::-1][1:] if args.baseline else trees:  # the load drifts: both ways
        out = subprocess.run([sys.executable, __file__, "--measure", "--calls", str(args.calls)],
                             env={**env, "PYTHONPATH": str(src)}, check=True, capture_output=True, text=True)
        print(f"{label} ({src}): {out.stdout.strip().splitlines()[-1]}")


if __name__ == "__main__":
    main()
