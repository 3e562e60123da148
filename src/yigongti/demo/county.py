"""The complete demo county (示例县): the generated folder, the appraisal inputs and the demo's pool policy.

``yigongti demo`` and ``yigongti serve`` (when it has no data folder) both build the demo through this function, so
the platform shows the same county, budget and grades as the command line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from yigongti.demo import DEFAULT_SEED, DEFAULT_YEAR, DemoSummary, generate_demo
from yigongti.demo.appraisal import write_appraisal_tables
from yigongti.demo.policy import write_demo_policy
from yigongti.demo.quality import write_quality_indicator_set

__all__ = ["write_demo_county"]


def write_demo_county(out: Path | str, *, persons: int | None = None, seed: int = DEFAULT_SEED, consortia: int = 2,
                      counties: int = 1, year: int = DEFAULT_YEAR, fmt: str = "auto",
                      progress: Callable[[int, int], None] | None = None, last_year: bool = True) -> DemoSummary:
    """Generate the demo folder, then add the appraisal inputs, ``policy.toml`` (the county pool) and
    ``indicator_set.toml`` (national-2024 with the care-quality indicators, ``demo.quality``)."""
    summary = generate_demo(out, persons=persons, seed=seed, consortia=consortia, counties=counties, year=year,
                            fmt=fmt, progress=progress, last_year=last_year)
    write_appraisal_tables(Path(out), seed=seed, year=year)
    write_demo_policy(Path(out))
    write_quality_indicator_set(Path(out))
    return summary
