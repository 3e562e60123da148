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
sys.path.insert(0, str(HERE))
from bench_adjudicate_batch import _cpu  # noqa: E402  (the same CPU seconds as the adjudication's batch bench)


def capture(persons: int, replicates: int) -> None:
    """The inputs of the batch's appraisal (one simulated year of ``replicates`` replicates of the pilot's
    ``centre-middle`` county of ``persons``), as Arrow files under DATA/batch."""
    import pyarrow as pa
    import pyarrow.feather as fe

    from yigongti.simulator import pilot, service
    from yigongti.simulator.domain import load_scenarios

    shipped = pilot.read_pilot_design(pilot.PILOT_4X3)
    pilot.write_pilot(shipped.model_copy(update={"counties": tuple(
        c for c in shipped.counties if c.name == "centre-middle")}), DATA / "pilot", persons=persons)
    appraise, out = service.appraise_data, DATA / "batch"

    def kept(data: Any, year: int, policy: Any, des: Any, adjudicated: Any, **kw: Any) -> Any:
        """``appraise_data`` that writes its inputs the first time it is given a batch (keys prefixed)."""
        first = data["claims"]["claim_id"][0].as_py() if data["claims"].num_rows else ""
        if "#" in str(first) and not out.exists():
            out.mkdir(parents=True)
            named = {**{k: t for k, t in data.tables.items() if isinstance(t, pa.Table)},
                     "_designations": des, "_adjudicated": adjudicated}
            for name, table in named.items():
                fe.write_feather(table, out / f"{name}.arrow", compression="uncompressed")
            (out / "args.pkl").write_bytes(pickle.dumps((year, policy, str(data.path), kw)))
        return appraise(data, year, policy, des, adjudicated, **kw)

    service.appraise_data = kept  # type: ignore[assignment]
    setup = service.prepare_county("centre-middle", DATA / "pilot" / "centre-middle")
    service.simulate_county(setup, load_scenarios("[scenarios.global_budget]\n")[0], county_index=0, years=1,
                            replicates=replicates, seed=1)


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
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    for flag, kind, default, text in (("--persons", int, 20_000, "persons of the county"),
                                      ("--replicates", int, 25, "replicates of the batch"),
                                      ("--calls", int, 3, "appraise_data calls in each process"),
                                      ("--baseline", Path, None, "src of the tree to compare with (main's)")):
        ap.add_argument(flag, type=kind, default=default, help=text)
    for flag, text in (("--measure", argparse.SUPPRESS), ("--keep", "reuse the batch captured by an earlier run")):
        ap.add_argument(flag, action="store_true", help=text)
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
    order = [("this tree", SRC)]
    if args.baseline:  # the load drifts: this tree, the baseline, the baseline, this tree
        order += [("baseline", args.baseline), ("baseline", args.baseline), ("this tree", SRC)]
    for label, src in order:
        run = subprocess.run([sys.executable, __file__, "--measure", "--calls", str(args.calls)],
                             env={**env, "PYTHONPATH": str(src)}, check=True, capture_output=True, text=True)
        print(f"{label} ({src}): {run.stdout.strip().splitlines()[-1]}")


if __name__ == "__main__":
    main()
