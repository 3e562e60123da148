"""Benchmark: the CPU a warm simulator batch spends making SQL (Ibis's compilation and the shape cache).

    PYTHONPATH=src python benchmarks/bench_simulate_sql.py [DATA] [LABEL]

DATA: a folder written by ``bench_simulate.py`` (default benchmarks/data/simulate, county ``centre-middle``). The
county is prepared, one batch of 25 replicates x 1 year runs (every shape compiled), then a second, warm batch is
timed: its CPU seconds (process, DuckDB on one thread), and of them the CPU of Ibis's ``compile`` called outside
``core.engine.duckdb_sql`` (statements that bypass the cache) and of ``duckdb_sql`` itself. No profiler: cProfile
inflates Ibis's pure-Python compilation about eight times against DuckDB's execution.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("YIGONGTI_DUCKDB_THREADS", "1")

import ibis.backends.sql as sqlb  # noqa: E402

import yigongti.benefits.engine as be  # noqa: E402
import yigongti.core.engine as ce  # noqa: E402
from yigongti.simulator import service  # noqa: E402
from yigongti.simulator.domain import load_scenarios  # noqa: E402

ACC: dict[str, float] = {"compile": 0.0, "duckdb_sql": 0.0, "n_compile": 0, "n_sql": 0}
_DEPTH = [0]


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def _wrap() -> None:
    compile_ = sqlb.SQLBackend.compile
    sql = ce.duckdb_sql

    def timed_compile(self: Any, *a: Any, **k: Any) -> Any:
        if _DEPTH[0]:  # within duckdb_sql: counted there
            return compile_(self, *a, **k)
        c = _cpu()
        try:
            return compile_(self, *a, **k)
        finally:
            ACC["compile"] += _cpu() - c
            ACC["n_compile"] += 1

    def timed_sql(*a: Any, **k: Any) -> str:
        _DEPTH[0] += 1
        c = _cpu()
        try:
            return sql(*a, **k)
        finally:
            _DEPTH[0] -= 1
            ACC["duckdb_sql"] += _cpu() - c
            ACC["n_sql"] += 1

    sqlb.SQLBackend.compile = timed_compile  # type: ignore[method-assign]
    ce.duckdb_sql = timed_sql
    be.duckdb_sql = timed_sql


def main() -> None:
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "data" / "simulate"
    label = sys.argv[2] if len(sys.argv) > 2 else "tree"
    _wrap()
    setup = service.prepare_county("centre-middle", data / "centre-middle")
    scenario = load_scenarios("[scenarios.global_budget]\n")[0]
    service.simulate_county(setup, scenario, county_index=0, years=1, replicates=25, seed=1)
    for k in ACC:
        ACC[k] = 0
    c = _cpu()
    service.simulate_county(setup, scenario, county_index=0, years=1, replicates=25, seed=1)
    total = _cpu() - c
    print(f"{label}: warm batch {total:.2f} CPU s ({total / 25:.3f} per county-year); SQL making "
          f"{ACC['compile'] + ACC['duckdb_sql']:.2f} (Ibis compile outside the cache {ACC['compile']:.2f} in "
          f"{ACC['n_compile']:.0f} calls; duckdb_sql {ACC['duckdb_sql']:.2f} in {ACC['n_sql']:.0f} calls)")


if __name__ == "__main__":
    main()
