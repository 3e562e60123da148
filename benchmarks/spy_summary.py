"""Where the time goes, from py-spy's raw (collapsed) stacks (``bench_web.py --profile prof.txt``): each sample goes
to the library of its innermost frame that belongs to a known library.

    python benchmarks/spy_summary.py prof.txt
"""

from __future__ import annotations

import collections
import sys

KINDS = (("psycopg", ("psycopg",)), ("SQLAlchemy", ("sqlalchemy",)), ("pydantic", ("pydantic",)),
         ("FastAPI/Starlette", ("fastapi", "starlette")),
         ("anyio thread hops", ("anyio", "concurrent/futures", "threading.py")),
         ("uvicorn/asyncio/uvloop", ("uvicorn", "asyncio", "uvloop", "httptools")),
         ("json", ("json/",)), ("yigongti", ("yigongti",)))


def main(path: str) -> None:
    total = 0
    by: collections.Counter[str] = collections.Counter()
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            stack, _, n = line.rstrip().rpartition(" ")
            if not n.isdigit():
                continue
            total += int(n)
            kind = "other"
            for frame in reversed(stack.split(";")):
                hit = next((k for k, keys in KINDS if any(key in frame for key in keys)), None)
                if hit:
                    kind = hit
                    break
            by[kind] += int(n)
    print(f"samples {total}")
    for kind, n in by.most_common():
        print(f"  {kind:<26} {100 * n / max(1, total):5.1f}%")


if __name__ == "__main__":
    main(sys.argv[1])
