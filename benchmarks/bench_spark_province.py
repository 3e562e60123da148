"""A generated province on a Spark standalone cluster (master + 2 workers started here) against DuckDB, same run.

    yigongti demo --out /tmp/sparkparquet/P --counties 50 --persons 200000 --format parquet --no-run
    PYTHONPATH=src python benchmarks/bench_spark_province.py /tmp/sparkparquet/P --before /tmp/sparkparquet/main/src \
      [--worker-memory 2g --executor-memory 1536m --driver-memory 4g --tmp /tmp/sparkparquet] \
      [--after SRC]

For ``adjudicate`` and ``settle --no-reports`` (year 2026; ``--commands check,run`` too: ``check DIR`` compares what it
prints, ``run`` every file), each run in its own process, interleaved: DuckDB with the
code of ``--before`` (the baseline), Spark on the cluster with ``--before``'s code (where it runs: before this branch
the driver read the Parquet claims into memory, and ``adjudicate`` refused them on Spark), Spark on the cluster with
this tree's code. Measured by sampling /proc every 0.5 s: the driver is the command's Python process and its
children (the Spark driver's JVM); its peak RSS is the peak of their sum; its CPU is the last sample of each process
(the JVM is not waited for, so up to one interval of its CPU is lost). The executors' CPU is the growth of the
workers' ``cutime + cstime`` (the executors are the workers' children) or, when larger, the last sample of each
executor's own CPU (on 2026-12-06 the workers' cutime did not grow: up to one interval is lost), their peak RSS the
peak of their sum. Output folders are compared with DuckDB's byte for byte.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from test_spark_cluster import standalone_cluster  # noqa: E402  (the test's cluster, started the same way)

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat(pid: int) -> tuple[int, float, float, int] | None:
    """(ppid, own CPU s, waited children's CPU s, RSS bytes) of a process, None when gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()
    # fields[0] is state (field 3): utime 14, stime 15, cutime 16, cstime 17, rss 24
    return (int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK, (int(fields[13]) + int(fields[14])) / TICK,
            int(fields[21]) * PAGE)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _all() -> dict[int, tuple[int, float, float, int]]:
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit() and (s := _stat(int(d))) is not None:
            out[int(d)] = s
    return out


def _workers() -> list[int]:
    return [p for p in _all() if "deploy.worker.Worker" in _cmdline(p)]


def _run(cmd: list[str], env: dict[str, str], log: Path) -> dict[str, float]:
    workers = _workers()
    waited0 = sum(s[2] for w in workers if (s := _stat(w)) is not None)
    t0 = time.perf_counter()
    with log.open("wb") as fh:
        proc = subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT)
        cpu: dict[int, float] = {}
        exec_cpu: dict[int, float] = {}
        peak_driver = peak_exec = 0
        while proc.poll() is None:
            procs = _all()
            tree, frontier = {proc.pid}, [proc.pid]
            while frontier:
                parent = frontier.pop()
                kids = [p for p, s in procs.items() if s[0] == parent and p not in tree]
                tree.update(kids)
                frontier.extend(kids)
            for p in tree:
                if p in procs and p != proc.pid:
                    cpu[p] = procs[p][1]
            peak_driver = max(peak_driver, sum(procs[p][3] for p in tree if p in procs))
            execs = [p for p, s in procs.items() if s[0] in workers]
            for p in execs:  # sampled too: the workers' cutime did not grow when the executors ended (0.0 s)
                exec_cpu[p] = procs[p][1]
            peak_exec = max(peak_exec, sum(procs[p][3] for p in execs))
            time.sleep(0.5)
        wall = time.perf_counter() - t0
    time.sleep(2)  # the executors end and are waited for by their workers
    waited1 = sum(s[2] for w in workers if (s := _stat(w)) is not None)
    return {"rc": proc.returncode, "wall": wall, "driver_children_cpu": sum(cpu.values()),
            "executors_cpu": max(waited1 - waited0, sum(exec_cpu.values())), "driver_peak_mb": peak_driver / 2**20,
            "exec_peak_mb": peak_exec / 2**20}


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _report(log: Path) -> dict[str, bytes]:
    """The lines ``yigongti check`` printed in ``log``: its problems (``file:row:column: message``), the rows per
    table, the verdict; Spark's log and progress bar left out."""
    lines = re.split(r"[\r\n]", log.read_text(errors="replace"))
    return {"check": "\n".join(m.group(1) for m in map(_REPORTED.search, lines) if m).encode()}


_REPORTED = re.compile(r"(\S+:\d+:\S+: .*|\w+: \d+ rows / 行|OK / 校验通过|\d+ (problem|warning)\(s\).*)$")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data", type=Path)
    ap.add_argument("--before", type=Path, required=True, help="the baseline's src folder (main's code)")
    ap.add_argument("--after", type=Path, default=ROOT / "src", help="the src folder measured (default this tree's)")
    ap.add_argument("--year", default="2026")
    ap.add_argument("--commands", default="adjudicate,settle")
    ap.add_argument("--skip", default="", help="comma-separated run names to skip")
    ap.add_argument("--worker-memory", default="2g", help="each of the two workers' memory")
    ap.add_argument("--executor-memory", default="1536m", help="each executor's memory (at most the worker's)")
    ap.add_argument("--driver-memory", default="4g")
    ap.add_argument("--tmp", type=Path, default=Path("/tmp/sparkparquet"), help="where the runs' outputs go")
    args = ap.parse_args()
    import resource

    import pyspark

    home = Path(pyspark.__file__).parent
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC, load average {os.getloadavg()}", flush=True)
    skip = set(filter(None, args.skip.split(",")))
    args.tmp.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "cluster").mkdir()
        with standalone_cluster(tmp / "cluster", home, memory=args.worker_memory,
                                executor_memory=args.executor_memory, driver_memory=args.driver_memory) as cluster:
            for command in args.commands.split(","):
                extra_cmd = ["--no-reports"] if command == "settle" else []
                runs = {"duckdb before": (args.before, []),
                        "spark-cluster before": (args.before, ["--engine", "spark", "--spark-master", cluster.url]),
                        "spark-cluster after": (args.after, ["--engine", "spark", "--spark-master", cluster.url])}
                if command in ("adjudicate", "check"):
                    del runs["spark-cluster before"]  # refused Parquet claims on Spark (check: no --engine) before
                outs: dict[str, dict[str, bytes]] = {}
                for name, (src, extra) in runs.items():
                    if f"{command}:{name}" in skip:
                        continue
                    out = tmp / f"{command}-{name.replace(' ', '-')}"
                    env = {**cluster.env, "PYTHONPATH": str(src)}
                    before = resource.getrusage(resource.RUSAGE_CHILDREN)
                    where = ([str(args.data)] if command == "check" else
                             ["--data", str(args.data), "--year", args.year, "--out", str(out)])
                    r = _run([sys.executable, "-m", "yigongti.cli", command, *where, *extra_cmd, *extra], env,
                             tmp / f"{out.name}.log")
                    after = resource.getrusage(resource.RUSAGE_CHILDREN)
                    py_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                    if r["rc"]:
                        print(f"{command} {name}: exit {r['rc']}:", (tmp / f"{out.name}.log").read_text()[-1500:])
                        continue
                    # check: what it printed (its problems, rows per table), without Spark's log
                    outs[name] = (_report(tmp / f"{out.name}.log") if command == "check" else _files(out))
                    same = outs[name] == outs.get("duckdb before")
                    driver = py_cpu + r["driver_children_cpu"]
                    print(f"{command} {name}: wall {r['wall']:.1f} s; CPU driver {driver:.1f} s (Python {py_cpu:.1f}"
                          f" + JVM {r['driver_children_cpu']:.1f}), executors {r['executors_cpu']:.1f} s, total "
                          f"{driver + r['executors_cpu']:.1f} s; peak RSS driver {r['driver_peak_mb']:.0f} MB, "
                          f"executors {r['exec_peak_mb']:.0f} MB; files identical to DuckDB's: {same}; "
                          f"load {os.getloadavg()[0]:.1f}", flush=True)
                    if name != "duckdb before":
                        shutil.rmtree(out, ignore_errors=True)
    print(f"{time.strftime('%H:%M:%S', time.gmtime())} UTC, load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
