"""Where the CPU of ``yigongti settle`` goes (issue 21 item 2): phase by phase, and statement by statement with
DuckDB's profiler, in one process.

    python benchmarks/profile_settle.py FOLDER [--year 2026] [--out O] [--reports] [--profiles DIR]

Phases: CPU seconds (``time.process_time``: every thread of the process, DuckDB's included) spent in each step of
``settle_year`` as the command calls it (reading and validating the folder, enrollment, the adjudication's
expression with the claims check, the appraisal, the settlement's sums and rules, writing). Statements: the CPU of
each statement the engine runs, heaviest first, with the code that asked for it; ``--profiles DIR`` writes
DuckDB's JSON profile of each (``PRAGMA enable_profiling='json'``) and prints the heaviest operators of the three
heaviest statements. The numbers include the profilers' own cost (small: they time, they do not trace).
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb._seam as seam


def _caller() -> str:
    frames = [f"{Path(f.filename).name}:{f.lineno}:{f.name}" for f in traceback.extract_stack()
              if "yigongti" in f.filename]
    return " < ".join(reversed(frames[-3:]))


def _operators(node: dict[str, Any], out: list[tuple[float, str, Any, str]]) -> None:
    out.append((float(node.get("timing", 0)), str(node.get("name")), node.get("intermediate_rows"),
                json.dumps(node.get("extra_info", {}), ensure_ascii=False)[:150]))
    for child in node.get("children", []):
        _operators(child, out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", type=Path)
    p.add_argument("--year", type=int, default=2026)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--reports", action="store_true")
    p.add_argument("--profiles", type=Path, default=None, help="write DuckDB's JSON profile of each statement here")
    args = p.parse_args()
    start = time.process_time()
    statements: list[tuple[float, int, str, str]] = []
    submit = seam.submit

    def timed_submit(con: Any, sql: str, values: Any, format: str = "rows",  # noqa: A002 (seam's name)
                     batch_size: int = seam.DEFAULT_BATCH_SIZE) -> Any:
        n = len(statements)
        if args.profiles is not None:
            con.execute("PRAGMA enable_profiling='json'")
            con.execute(f"PRAGMA profiling_output='{args.profiles / f'{n:02d}.json'}'")
        st = time.process_time()
        try:
            return submit(con, sql, values, format, batch_size)
        finally:
            statements.append((time.process_time() - st, n, _caller(), sql[:160]))

    seam.submit = timed_submit
    if args.profiles is not None:
        args.profiles.mkdir(parents=True, exist_ok=True)
    import yigongti.benefits.service as benefits
    import yigongti.budget.cli.settle  # noqa: F401 (the command's imports, counted as such)
    import yigongti.budget.service as service
    from yigongti.core.policy_files import resolve_policy

    phases: dict[str, float] = {"imports": time.process_time() - start}

    def phase(module: Any, name: str, label: str) -> None:
        real: Callable[..., Any] = getattr(module, name)

        def timed(*a: Any, **k: Any) -> Any:
            st = time.process_time()
            try:
                return real(*a, **k)
            finally:
                phases[label] = phases.get(label, 0.0) + time.process_time() - st

        setattr(module, name, timed)

    phase(service, "read_folder", "read and validate the folder (claims aside)")
    phase(service, "_designations_for", "enrollment (designations by choice and distance)")
    phase(benefits, "check_parquet_claims", "claims check (one engine scan)")
    phase(service, "adjudicated_expr", "adjudication (claims check included)")
    phase(service, "appraise_data", "appraisal (P4P indicators and scores)")
    phase(service, "settle_streamed", "settlement (engine sums, budgets, rules)")
    phase(service, "write_settlement", "writing the outputs (reports included)")
    import yigongti.budget.report as report
    import yigongti.enrollment.service as enrollment

    phase(enrollment, "enroll_tables", "  of enrollment: the engine's tables")
    phase(service, "adjudicated_once", "adjudication once into a Parquet spill")
    phase(service, "_engine_tables", "  of settlement: the engine's sums")
    phase(service, "_last_year_costs", "  of settlement: last year's costs")
    phase(report, "write_reports", "  of writing: the 200 report files")
    out = args.out or Path(tempfile.mkdtemp(prefix="settle-profile-"))
    result = service.settle_year(args.folder, args.year, resolve_policy(args.folder, None))
    service.write_settlement(result, out, reports=args.reports)
    phases["total"] = time.process_time() - start
    for label, cpu in phases.items():
        print(f"{label:55s} {cpu:7.2f} CPU s")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024:,} MB; "
          f"{sum(s[0] for s in statements):.2f} CPU s in {len(statements)} engine statements")
    heaviest = sorted(statements, key=lambda s: -s[0])
    for cpu, n, caller, sql in heaviest[:12]:
        print(f"{n:02d} {cpu:6.2f} CPU s  {caller}\n      {sql!r}")
    if args.profiles is not None:
        for _, n, _, _ in heaviest[:3]:
            ops: list[tuple[float, str, Any, str]] = []
            for root in json.loads((args.profiles / f"{n:02d}.json").read_text())["operator"]:
                _operators(root, ops)
            print(f"statement {n:02d}: operator time {sum(o[0] for o in ops):.2f} s (threads summed)")
            for t, name, rows, info in sorted(ops, key=lambda o: -o[0])[:6]:
                print(f"   {t:6.2f} s {name:16s} rows={rows} {info}")


if __name__ == "__main__":
    main()
