"""The streaming path at scale: Parquet part files, memory bounded whatever the number of persons (slow)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

_CHILD = """
import resource, sys
from yigongti.demo import generate_demo
s = generate_demo(sys.argv[1], persons=int(sys.argv[2]), seed=2, fmt="auto" if sys.argv[3] == "auto" else "parquet")
print(s.fmt, s.persons, s.claims, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _run(out: Path, persons: int, fmt: str = "parquet") -> tuple[str, int, int, int]:
    res = subprocess.run([sys.executable, "-c", _CHILD, str(out), str(persons), fmt], check=True,
                         capture_output=True, text=True)
    f, p, c, rss = res.stdout.split()
    return f, int(p), int(c), int(rss)


@pytest.mark.slow
def test_300k_persons_stream_to_parquet_parts_in_the_memory_of_100k(tmp_path: Path) -> None:
    _, _, _, rss_small = _run(tmp_path / "small", 100_000)
    fmt, persons, claims, rss_big = _run(tmp_path / "big", 300_000)
    assert fmt == "parquet" and persons == 300_000
    parts = sorted((tmp_path / "big" / "claims").glob("part-*.parquet"))
    assert len(parts) == 6  # one part per chunk of 50,000 persons
    assert sum(pq.ParquetFile(p).metadata.num_rows for p in parts) == claims
    assert pq.ParquetFile(tmp_path / "big" / "persons" / "part-00000.parquet").metadata.num_rows == 50_000
    # three times the persons, (nearly) the same peak memory: the generator holds one chunk at a time
    assert rss_big < 1.25 * rss_small, (rss_small, rss_big)
    assert rss_big < 1_000_000  # KiB


@pytest.mark.slow
def test_auto_format_switches_to_parquet_at_a_million_persons(tmp_path: Path) -> None:
    fmt, persons, _, _ = _run(tmp_path / "m", 1_000_000, "auto")
    assert fmt == "parquet" and persons == 1_000_000
    assert (tmp_path / "m" / "persons").is_dir() and not (tmp_path / "m" / "persons.csv").exists()
