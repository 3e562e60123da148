"""The demo county's policy (示例县政策): the county pool from per-person financing, so that the demo shows a
budget funded the way a bureau funds it (docs/en/rules.md C2) instead of the fallback rate.

Figures (rules.md §9): basic public-health funding 89 yuan per person (84 in 2022, rising yearly); resident
insurance fund income about 1,180 yuan per enrollee (2024); employee insurance: the part of the employee fund a county
puts into the package, about 2,000 yuan per enrollee (an assumption of this demo, documented in docs/*/demo.md).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc

from yigongti.core.money import format_yuan
from yigongti.datafolder.folder import find_table_file, read_raw_table

__all__ = ["EMPLOYEE_PER_ENROLLEE", "PUBLIC_HEALTH_PER_PERSON", "RESIDENT_PER_ENROLLEE", "TRAINING", "TWO_DISEASE",
           "write_demo_policy"]

PUBLIC_HEALTH_PER_PERSON = 8_900  # fen
RESIDENT_PER_ENROLLEE = 118_000
EMPLOYEE_PER_ENROLLEE = 200_000
TWO_DISEASE = (
    "\n# 两病门诊用药保障：登记的高血压、糖尿病患者在医共体内基层和县级机构门诊，\n"
    "# 不设起付线，按 60% 支付，每人每年最多 300 元\n"
    "# The two-disease outpatient drug benefit (rules.md B9): registered hypertension and diabetes patients, 60% with\n"
    "# no deductible, at most 300 yuan a person a year, at the primary and county institutions of their consortium\n"
    "# (a row of flat copay keeps its flat copay).\n"
    "[benefits.two_disease]\n"
    "enabled = true\n"
    'rate = "60%"\n'
    'yearly_cap = "300"\n'
    'tiers = ["primary", "county"]\n'
)
TRAINING = (
    "\n# 基层人员年度培训学时：乡村两级每人每年至少 24 学时（/workforce/training 判定达标与否）\n"
    "# Primary staff attend at least 24 training hours a year (judged met or not on /workforce/training).\n"
    "[workforce]\n"
    "training_hours_required = 24\n"
)


def write_demo_policy(folder: Path, *, resident_per_enrollee: int = RESIDENT_PER_ENROLLEE,
                      employee_per_enrollee: int = EMPLOYEE_PER_ENROLLEE, heading: str | None = None) -> Path:
    """Write ``policy.toml`` with the pool of the persons in ``folder`` at the income per enrollee given (fen; the
    demo's by default), the two-disease benefit on (:data:`TWO_DISEASE`) and 24 training hours a year required of
    primary staff (:data:`TRAINING`); every other key keeps rules.md's
    default. ``heading``: the file's first comment lines."""
    path = find_table_file(folder, "persons")
    if path is None:
        raise FileNotFoundError(f"{folder}: no persons table / 缺少参保人表")
    insurance = read_raw_table(path).column("insurance")
    employees = int(pc.sum(pc.equal(insurance, "employee")).as_py() or 0)
    residents = len(insurance) - employees
    text = (
        (heading or "# 示例县政策：资金池按人均筹资计算，其余为 docs/en/rules.md 默认值\n"
                    "# Demo county policy: the pool from per-person financing; every other key keeps the rules.md "
                    "default.\n")
        + "[capitation]\n"
        f'pool_public_health = "{format_yuan(PUBLIC_HEALTH_PER_PERSON * (residents + employees))}"'
        f"  # {format_yuan(PUBLIC_HEALTH_PER_PERSON)} x {residents + employees} persons\n"
        f'pool_resident = "{format_yuan(resident_per_enrollee * residents)}"'
        f"  # {format_yuan(resident_per_enrollee)} x {residents} residents\n"
        f'pool_employee = "{format_yuan(employee_per_enrollee * employees)}"'
        f"  # {format_yuan(employee_per_enrollee)} x {employees} employees\n"
        + TWO_DISEASE + TRAINING
    )
    out = Path(folder) / "policy.toml"
    out.write_text(text, encoding="utf-8")
    return out
