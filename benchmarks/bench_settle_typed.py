"""Benchmark: ``yigongti settle`` as a user types it on a province folder (issue 21 item 2), against a hand-written
DuckDB query over the same files, in the same run.

    python benchmarks/bench_settle_typed.py [--folder F | --counties 50 --persons 200000] [--year 2026]
                                            [--no-reports] [--keep] [--profile]

The folder is a generated province (``yigongti demo --counties K --persons N --format parquet --no-run``: Parquet
claims, persons, designations and choices, last year's claims filled in) unless ``--folder`` names one. Each run is
its own process, so its peak memory (max RSS) is its own:

* the command, exactly as typed: ``yigongti settle --data F --year Y --out O`` (reports and P4P scores included;
  ``--no-reports`` for the settlement alone);
* the baseline: one hand-written DuckDB SQL query that joins the year's claims to persons and designations (the
  folder's latest up to the year: a generated folder has last year's, the settlement enrolls the year first) (and
  the institutions, for the consortium that provided the care), sums spending per consortium in and out of the
  network and runs one per-person running-sum window (the shape of the settlement's core, none of its rules).

``--profile``: the baseline again with DuckDB's profiler on (``PRAGMA enable_profiling``), its plan written next to
the output. ``--baseline SRC --runs N``: ``settle`` also with another tree's ``src`` (main's, in the same window),
alternating this tree and SRC N times each, the hand query before each pair; their out folders are compared file
by file (byte-identical or not). Prints wall seconds, CPU seconds (user + system of the process and its children:
the report workers) and peak RSS of both, and the ratio.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "settle-typed"

HAND_QUERY = """
WITH claims AS (
    SELECT c.person_id, c.claim_id, c.admit_date, c.inst_id,
           CAST(round(c.covered_cost * 100) AS BIGINT) AS fen
    FROM read_parquet('{claims}') c
    WHERE c.admit_date >= DATE '{year}-01-01' AND c.admit_date < DATE '{next}-01-01'
), joined AS (
    SELECT c.*, d.consortium_id, i.consortium_id AS provider_consortium
    FROM claims c
    JOIN read_parquet('{persons}') p ON p.person_id = c.person_id
    JOIN read_parquet('{designations}') d ON d.person_id = c.person_id
        AND d.year = (SELECT max(year) FROM read_parquet('{designations}') WHERE year <= {year})
    LEFT JOIN read_csv('{institutions}', all_varchar = true) i ON i.inst_id = c.inst_id
), running AS (
    SELECT *, sum(fen) OVER (PARTITION BY person_id ORDER BY admit_date, claim_id
                             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS to_date
    FROM joined
)
SELECT consortium_id,
       sum(fen) FILTER (WHERE provider_consortium = consortium_id) AS in_network,
       sum(fen) FILTER (WHERE provider_consortium IS DISTINCT FROM consortium_id) AS out_of_network,
       sum(CASE WHEN to_date > 100000 THEN 1 ELSE 0 END) AS past_a_cap,
       count(*) AS claims
FROM running GROUP BY consortium_id ORDER BY consortium_id
"""


def _table(folder: Path, name: str) -> str:
    part = folder / name
    return str(part / "*.parquet") if part.is_dir() else str(folder / f"{name}.parquet")


def hand_query(folder: Path, year: int) -> str:
    """The baseline's SQL over the folder's files."""
    return HAND_QUERY.format(claims=_table(folder, "claims"), persons=_table(folder, "persons"),
                             designations=_table(folder, "designations"), institutions=folder / "institutions.csv",
                             year=year, next=year + 1)


def _timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, int]:
    """(wall s, CPU s of the process and its children, peak RSS MB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    if status != 0:
        raise SystemExit(f"{cmd[:4]} failed:\n{err}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024


def _baseline_cmd(folder: Path, year: int, profile: Path | None) -> list[str]:
    sql = hand_query(folder, year)
    pragmas = "" if profile is None else (
        f"con.execute(\"PRAGMA enable_profiling='query_tree'\"); con.execute(\"PRAGMA profiling_output='{profile}'\");")
    code = ("import duckdb, sys; con = duckdb.connect(); " + pragmas +
            f"rows = con.execute({sql!r}).fetchall(); assert rows; print(len(rows))")
    return [sys.executable, "-c", code]


def _same_files(a: Path, b: Path) -> bool:
    names = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    return names == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file()) and all(
        (a / n).read_bytes() == (b / n).read_bytes() for n in names)


def _alternate(folder: Path, args: argparse.Namespace, claims: int, out: Path) -> None:
    """``settle`` with this tree's src and with ``args.baseline`` alternately, the hand query before each pair."""
    trees = {"tree": HERE.parent / "src", "baseline": args.baseline.resolve()}
    print(f"folder {folder}: {claims:,} claims (both years)")
    firsts: dict[str, Path] = {}
    for run in range(args.runs):
        base = _timed(_baseline_cmd(folder, args.year, None))
        print(f"hand-written DuckDB query: {base[0]:.1f} s wall, {base[1]:.2f} s CPU, peak {base[2]:,} MB")
        for name, src in (trees.items() if run % 2 == 0 else reversed(trees.items())):
            o = out / f"{name}{run}"
            cmd = [sys.executable, "-m", "yigongti.cli", "settle", "--data", str(folder), "--year", str(args.year),
                   "--out", str(o)] + (["--no-reports"] if args.no_reports else [])
            load = os.getloadavg()[0]
            wall, cpu, peak = _timed(cmd, env={**os.environ, "PYTHONPATH": str(src)})
            same = _same_files(firsts.setdefault("tree", o), o) if name == "tree" or "tree" in firsts else None
            print(f"settle {name} run {run + 1}: {wall:.1f} s wall, {cpu:.2f} s CPU, peak {peak:,} MB, "
                  f"load {load:.1f}, {cpu / base[1]:.1f}x the hand query" + ("" if same is None else
                                                                              f", outputs identical: {same}"),
                  flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--folder", type=Path, default=None, help="an existing province folder (else one is generated)")
    p.add_argument("--counties", type=int, default=50)
    p.add_argument("--persons", type=int, default=200_000)
    p.add_argument("--year", type=int, default=2026)
    p.add_argument("--no-reports", action="store_true")
    p.add_argument("--keep", action="store_true", help="keep the generated folder under benchmarks/data/")
    p.add_argument("--profile", action="store_true", help="the baseline with DuckDB's profiler on")
    p.add_argument("--baseline", type=Path, default=None, help="another tree's src: settle with it too, alternating")
    p.add_argument("--runs", type=int, default=1, help="with --baseline: runs of each tree")
    args = p.parse_args()
    folder = args.folder
    generated = folder is None
    if folder is None:
        folder = DATA / f"province-{args.counties}-{args.persons}"
        if not folder.exists():
            subprocess.run([sys.executable, "-m", "yigongti.cli", "demo", "--out", str(folder), "--counties",
                            str(args.counties), "--persons", str(args.persons), "--year", str(args.year),
                            "--format", "parquet", "--no-run"], check=True, stdout=subprocess.DEVNULL)
    import pyarrow.dataset as ds

    claims = ds.dataset(_table(folder, "claims").replace("*.parquet", ""), format="parquet").count_rows()
    out = Path(tempfile.mkdtemp(prefix="settle-typed-"))
    try:
        if args.baseline is not None:
            _alternate(folder, args, claims, out)
            return
        base = _timed(_baseline_cmd(folder, args.year, None))
        cmd = [sys.executable, "-m", "yigongti.cli", "settle", "--data", str(folder), "--year", str(args.year),
               "--out", str(out / "o")] + (["--no-reports"] if args.no_reports else [])
        typed = _timed(cmd, env=dict(os.environ))
        reports = len(list((out / "o" / "reports").glob("*"))) if not args.no_reports else 0
        print(f"folder {folder}: {claims:,} claims (both years), load average {os.getloadavg()[0]:.1f}")
        print(f"hand-written DuckDB query: {base[0]:.1f} s wall, {base[1]:.1f} s CPU, peak {base[2]:,} MB")
        print(f"yigongti settle{' --no-reports' if args.no_reports else ''} ({reports} report files): "
              f"{typed[0]:.1f} s wall, {typed[1]:.1f} s CPU, peak {typed[2]:,} MB")
        print(f"ratio: {typed[0] / base[0]:.1f}x wall, {typed[1] / base[1]:.1f}x CPU")
        if args.profile:
            plan = out / "baseline-profile.txt"
            _timed(_baseline_cmd(folder, args.year, plan))
            print(plan.read_text())
    finally:
        shutil.rmtree(out, ignore_errors=True)
        if generated and not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
