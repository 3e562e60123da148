"""DuckDB vs Spark local vs a Spark standalone cluster (master + 2 workers started here) on one folder.

    PYTHONPATH=src python benchmarks/bench_spark_cluster.py [DATA] [YEAR] [COMMAND]

Defaults: the example county (tests/data/county-2026/input), 2026, ``adjudicate``. Each engine runs the command as
a user types it, in its own process; wall seconds, CPU seconds of that process (getrusage of the children waited
for: the Python driver; NOT the Spark driver's JVM, which pyspark does not wait for, nor the executors, which are
the workers' children), and whether the output files are byte-identical to DuckDB's. On a 2-core machine
a cluster shows that it works, not that it is faster.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from test_spark_cluster import standalone_cluster  # noqa: E402  (the test's cluster, started the same way)


def _run(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(done.stderr[-4000:])
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def main() -> None:
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests" / "data" / "county-2026" / "input"
    year = sys.argv[2] if len(sys.argv) > 2 else "2026"
    command = sys.argv[3] if len(sys.argv) > 3 else "adjudicate"
    import pyspark

    home = Path(pyspark.__file__).parent
    print(f"load average before: {os.getloadavg()}, cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "cluster").mkdir()
        with standalone_cluster(tmp / "cluster", home) as cluster:
            env = {**cluster.env, "PYTHONPATH": str(ROOT / "src")}
            base = [sys.executable, "-m", "yigongti.cli", command, "--data", str(data), "--year", year]
            runs = {"duckdb": [], "spark local[2]": ["--engine", "spark", "--spark-master", "local[2]"],
                    "spark cluster (2 workers x 1 core)": ["--engine", "spark", "--spark-master", cluster.url]}
            outputs: dict[str, dict[str, bytes]] = {}
            for name, extra in runs.items():
                out = tmp / name.split()[0] / name.replace(" ", "_")
                wall, cpu = _run([*base, "--out", str(out), *extra], env)
                outputs[name] = _files(out)
                same = outputs[name] == outputs["duckdb"]
                print(f"{command} {name}: wall {wall:.1f} s, CPU {cpu:.1f} s (Python process only), "
                      f"identical to duckdb: {same}, load {os.getloadavg()[0]:.1f}")
                shutil.rmtree(out)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
