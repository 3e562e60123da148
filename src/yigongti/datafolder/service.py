"""Use case: validate a data folder (数据校验)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from yigongti.core.policy_files import policy_problems
from yigongti.core.problems import Problem
from yigongti.datafolder.folder import PROBLEMS_PER_COLUMN, scan_folder

__all__ = ["PROBLEMS_PER_COLUMN", "CheckReport", "check_data_folder"]


@dataclass
class CheckReport:
    problems: list[Problem] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)


def check_data_folder(folder: Path, *, limit: int | None = PROBLEMS_PER_COLUMN) -> CheckReport:
    """The problems of the folder and its policy: at most ``limit`` per file and column, then one line with that
    column's count (None: every one); tables are read part by part and not kept (bounded memory)."""
    scan = scan_folder(folder, limit=limit)
    problems = scan.problems + policy_problems(Path(folder) / "policy.toml")
    return CheckReport(sorted(problems), dict(scan.rows))
