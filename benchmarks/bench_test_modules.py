"""Test modules' cost in two trees, alternating, and where make test's scheduler queues the long ones.

    python benchmarks/bench_test_modules.py --tree /tmp/base --tree . --repeat 2 tests/integration/test_x.py ...
    python benchmarks/bench_test_modules.py --queue --tree /tmp/base --tree .

Each run is ``pytest -n 0 -p no:cacheprovider -q --durations=0 MODULES`` in the tree (its own ``src`` first on
PYTHONPATH), the trees one after the other in each repeat: CPU seconds (user + sys of the pytest process and what it
waits for), the largest child RSS so far, and each module's summed durations (setup + call + teardown, wall).
``--queue``: each tree's order of work units under ``--dist loadfile`` (tests/conftest.py's LONGEST_FIRST, then
xdist's most tests first), from ``pytest --collect-only -q`` in the tree, and the position of the ``--watch`` modules.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

_DURATION = re.compile(r"\s*([\d.]+)s (?:setup|call|teardown)\s+(\S+?)::")


def _env(tree: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{tree / 'src'}{os.pathsep}{tree}"}


def run_modules(tree: Path, modules: list[str]) -> tuple[float, float, int, dict[str, float], str]:
    """(CPU s, wall s, peak RSS KB, summed durations per module, pytest's last line) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-n", "0", "-p", "no:cacheprovider", "-q",
                           "--durations=0", *modules], cwd=tree, env=_env(tree), capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    per: dict[str, float] = collections.defaultdict(float)
    for line in done.stdout.splitlines():
        m = _DURATION.match(line)
        if m:
            per[m.group(2)] += float(m.group(1))
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-200:]
    return cpu, wall, after.ru_maxrss, dict(per), last


def queue(tree: Path) -> list[str]:
    """The work units of ``--dist loadfile`` in the order tests/conftest.py's scheduler hands them out."""
    collected = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
                               cwd=tree, env=_env(tree), capture_output=True, text=True).stdout
    ns: dict[str, object] = {}
    text = (tree / "tests" / "conftest.py").read_text(encoding="utf-8")
    for name in ("SPARK_MODULES", "SPARK_GROUP", "LONGEST_FIRST"):
        m = re.search(rf"^{name} = (\(.*?\)|\".*?\")\n", text, re.S | re.M)
        assert m is not None, name
        ns[name] = eval(m.group(1), {}, ns)  # a literal tuple or string of the conftest
    spark_modules, group, longest = ns["SPARK_MODULES"], str(ns["SPARK_GROUP"]), ns["LONGEST_FIRST"]
    assert isinstance(spark_modules, tuple) and isinstance(longest, tuple)
    units: dict[str, int] = {}
    for line in collected.splitlines():
        if "::" not in line:
            continue
        path = line.split("::", 1)[0].strip()
        spark = path.startswith("tests/integration/") and path.rsplit("/", 1)[-1] in spark_modules
        scope = group if spark else path
        units[scope] = units.get(scope, 0) + 1
    order = collections.OrderedDict(sorted(units.items(), key=lambda kv: -kv[1]))  # xdist: most tests first
    for scope in reversed([s for s in longest if s in order]):
        order.move_to_end(scope, last=False)
    return list(order)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tree", type=Path, action="append", required=True, help="a checkout (twice: base, branch)")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--queue", action="store_true", help="the scheduler's order of the modules instead")
    ap.add_argument("--watch", action="append", default=[], help="a module whose queue position to print")
    ap.add_argument("modules", nargs="*")
    args = ap.parse_args()
    trees = [t.resolve() for t in args.tree]
    if args.queue:
        for tree in trees:
            order = queue(tree)
            print(f"{tree}: {len(order)} units")
            for module in args.watch or args.modules:
                at = order.index(module) + 1 if module in order else None
                print(f"  {module}: " + (f"{at} of {len(order)}" if at else "not collected"))
        return
    for r in range(args.repeat):
        for tree in trees:
            cpu, wall, rss, per, last = run_modules(tree, args.modules)
            load = os.getloadavg()[0]
            print(f"repeat {r + 1} {tree}: {cpu:.1f} CPU s, {wall:.1f} s wall, largest child RSS so far "
                  f"{rss // 1024} MB, load {load:.1f}; {last}", flush=True)
            for module, seconds in sorted(per.items(), key=lambda kv: -kv[1]):
                print(f"    {seconds:8.1f} s  {module}", flush=True)


if __name__ == "__main__":
    main()
