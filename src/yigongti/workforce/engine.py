"""The workforce tables of a data folder (人员数据表): checks, the stationing rules, training hours, and the tables
the appraisal reads (2.1 ``postings``, 2.3 ``staff_income``) derived from them.

A county's staff is thousands of rows, not millions: the tables are read as Arrow and judged row by row in Python
(``domain``); nothing here scans claims or persons except the population counts of 2.1 (one Arrow group-by).

Derived for the appraisal (:func:`appraisal_tables`), when the folder has the workforce tables:

- ``postings`` (2.1): one row per stint of ``stationing`` whose person is a doctor of ``staff``: from the person's
  employer, at the stint's institution, with the person's title and the stint's dates;
- ``staff_income`` (2.3): per institution where staff work (``works_at_id``, else the employer), the head count and
  total income of the staff whose ``income`` is given.

They replace the imported ``postings.csv`` and ``staff_income.csv`` (which are still accepted when the workforce
tables are absent).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from yigongti.core.codes import Tier
from yigongti.core.policy import WorkforcePolicy
from yigongti.core.problems import InvalidInput, Problem
from yigongti.datafolder.folder import DataFolder, read_folder, write_table
from yigongti.datafolder.schema import TABLES, ColType
from yigongti.workforce.domain import (
    Checklist,
    ChecklistError,
    Coverage,
    Profession,
    StaffingRule,
    Stint,
    checklist_from_toml,
    coverage,
    stationed_days,
)

__all__ = [
    "COVERAGE_COLUMNS",
    "DEFAULT_CHECKLIST",
    "INDICATOR_COLUMNS",
    "TRAINING_COLUMNS",
    "CoverageRow",
    "StaffingSummary",
    "DATABASE_TABLES",
    "appraisal_tables",
    "coverage_rows",
    "export_arrow",
    "indicator_rows",
    "load_checklist",
    "reference_problems",
    "training_rows",
    "write_export",
    "write_staffing",
    "with_database",
]

COVERAGE_COLUMNS = ("rule", "scope_kind", "scope", "name", "required", "days", "days_met", "met", "fewest", "gaps")
"""The columns of ``stationing_coverage.csv``."""
INDICATOR_COLUMNS = ("scope_kind", "scope", "indicator", "numerator", "denominator", "value")
"""The columns of ``workforce_indicators.csv``."""
TRAINING_COLUMNS = ("staff_id", "name", "title", "profession", "works_at_id", "tier", "sessions", "hours")
"""The columns of ``training_hours.csv``."""
PRIMARY = (Tier.TOWNSHIP.value, Tier.VILLAGE.value)
DEFAULT_CHECKLIST = Path(__file__).resolve().parent / "record_checklist.toml"
"""The medical-record checklist shipped with yigongti (policy ``workforce.record_checklist`` names another)."""


def load_checklist(policy: WorkforcePolicy, base: Path | None = None) -> Checklist:
    """The medical-record checklist the policy names (relative to ``base``), else the shipped one;
    :class:`InvalidInput` naming the file and the item when it is unusable."""
    path = DEFAULT_CHECKLIST
    if policy.record_checklist:
        path = Path(policy.record_checklist)
        if not path.is_absolute() and base is not None:
            path = base / path
    try:
        return checklist_from_toml(path.read_text(encoding="utf-8"), source=str(path))
    except OSError as exc:
        raise InvalidInput([Problem(str(path), 0, "workforce.record_checklist",
                                    f"cannot read the checklist: {exc.strerror} / 无法读取病历质控评分表")]) from None
    except ChecklistError as exc:
        raise InvalidInput([Problem(str(path), 0, "workforce.record_checklist", str(exc))]) from None


def _rows(table: pa.Table | None) -> list[dict[str, Any]]:
    return [] if table is None else table.to_pylist()


def reference_problems(data: DataFolder) -> list[Problem]:
    """Ids of the workforce and quality tables that name no known institution or person (file, row, column)."""
    insts = set(data["institutions"].column("inst_id").to_pylist())
    staff_ids = {r["staff_id"] for r in _rows(data.get("staff"))}
    refs: dict[str, tuple[tuple[str, set[str]], ...]] = {
        "staff": (("employer_id", insts), ("works_at_id", insts)),
        "stationing": (("staff_id", staff_ids), ("to_inst_id", insts)),
        "training": (("staff_id", staff_ids),),
        "prescription_reviews": (("inst_id", insts),), "record_checks": (("inst_id", insts),)}
    problems: list[Problem] = []
    for name, cols in refs.items():
        for i, row in enumerate(_rows(data.get(name)), start=2):
            for col, known in cols:
                value = row.get(col)
                if value is not None and value not in known and len(problems) < 100:
                    problems.append(Problem(f"{name}.csv", i, col, f"'{value}' is not a known id / 编码不存在"))
    for i, row in enumerate(_rows(data.get("stationing")), start=2):
        if row["end_date"] is not None and row["end_date"] < row["start_date"]:
            problems.append(Problem("stationing.csv", i, "end_date", "before start_date / 结束日期早于开始日期"))
    return problems


def _works_at(row: Mapping[str, Any]) -> str:
    return str(row.get("works_at_id") or row["employer_id"])


def appraisal_tables(data: DataFolder, year: int) -> dict[str, pa.Table]:
    """``postings`` (when ``staff`` and ``stationing`` are present) and ``staff_income`` (when ``staff`` gives any
    income), derived for ``year``: the appraisal reads them in place of the imported tables."""
    staff = {r["staff_id"]: r for r in _rows(data.get("staff"))}
    out: dict[str, pa.Table] = {}
    stationing = data.get("stationing")
    if staff and stationing is not None:
        rows = [(s, staff[s["staff_id"]]) for s in stationing.to_pylist() if s["staff_id"] in staff
                and staff[s["staff_id"]]["profession"] == Profession.DOCTOR.value]
        out["postings"] = pa.table({
            "staff_id": pa.array([s["staff_id"] for s, _ in rows], pa.string()),
            "from_inst_id": pa.array([p["employer_id"] for _, p in rows], pa.string()),
            "to_inst_id": pa.array([s["to_inst_id"] for s, _ in rows], pa.string()),
            "title": pa.array([p["title"] for _, p in rows], pa.string()),
            "start_date": pa.array([s["start_date"] for s, _ in rows], pa.date32()),
            "end_date": pa.array([s["end_date"] for s, _ in rows], pa.date32())})
    paid = [r for r in staff.values() if r.get("income") is not None]
    if paid:
        heads: dict[str, int] = defaultdict(int)
        income: dict[str, int] = defaultdict(int)
        for r in paid:
            heads[_works_at(r)] += 1
            income[_works_at(r)] += int(r["income"])
        insts = sorted(heads)
        out["staff_income"] = pa.table({"inst_id": pa.array(insts, pa.string()),
                                        "year": pa.array([year] * len(insts), pa.int64()),
                                        "staff": pa.array([heads[i] for i in insts], pa.int64()),
                                        "income": pa.array([income[i] for i in insts], pa.int64())})
    return out


@dataclass(frozen=True)
class CoverageRow:
    """One rule judged for one township centre (``attending``) or consortium (``city_experts``)."""

    rule: StaffingRule
    scope_kind: str
    scope: str
    name: str
    coverage: Coverage

    def as_dict(self) -> dict[str, object]:
        c = self.coverage
        return {"rule": self.rule.value, "scope_kind": self.scope_kind, "scope": self.scope, "name": self.name,
                "required": c.required, "days": c.days, "days_met": c.days_met, "met": c.met, "fewest": c.fewest,
                "gaps": ";".join(f"{lo.isoformat()}..{hi.isoformat()}" for lo, hi in c.gaps)}


def coverage_rows(institutions: Iterable[Mapping[str, Any]], consortia: Sequence[Mapping[str, Any]],
                  staff: Iterable[Mapping[str, Any]], stationing: Iterable[Mapping[str, Any]], year: int,
                  policy: WorkforcePolicy) -> list[CoverageRow]:
    """The two stationing rules for ``year``: one ``attending`` row per township-tier member (the consortium's
    lead-hospital doctors of attending level or above stationed there), one ``city_experts`` row per consortium
    (staff of a hospital outside the consortia of level >= ``city_min_level`` stationed at any of its members)."""
    inst = {str(i["inst_id"]): i for i in institutions}
    lead = {str(c["consortium_id"]): str(c["lead_inst_id"]) for c in consortia}
    names = {str(c["consortium_id"]): str(c.get("name") or c["consortium_id"]) for c in consortia}
    people = {str(p["staff_id"]): p for p in staff}
    attending: dict[str, list[Stint]] = defaultdict(list)
    experts: dict[str, list[Stint]] = defaultdict(list)
    for s in stationing:
        person, to = people.get(str(s["staff_id"])), inst.get(str(s["to_inst_id"]))
        if person is None or to is None:
            continue
        stint = Stint(str(s["staff_id"]), s["start_date"], s["end_date"])
        employer = inst.get(str(person["employer_id"]))
        cons = to.get("consortium_id")
        if (cons and person["employer_id"] == lead.get(cons) and to["tier"] == Tier.TOWNSHIP.value
                and person.get("profession", "doctor") == Profession.DOCTOR.value
                and person["title"] in policy.attending_titles):
            attending[str(to["inst_id"])].append(stint)
        if (cons and employer is not None and employer["tier"] == Tier.OUTSIDE.value
                and int(employer["level"]) >= policy.city_min_level):
            experts[str(cons)].append(stint)
    out: list[CoverageRow] = []
    for cid in sorted(lead):
        out.append(CoverageRow(StaffingRule.CITY_EXPERTS, "consortium", cid, names[cid],
                               coverage(experts.get(cid, []), year, policy.city_experts)))
        for iid in sorted(i for i, r in inst.items() if r.get("consortium_id") == cid
                          and r["tier"] == Tier.TOWNSHIP.value):
            out.append(CoverageRow(StaffingRule.ATTENDING, "institution", iid, str(inst[iid]["name"]),
                                   coverage(attending.get(iid, []), year, policy.attending_per_township)))
    return out


def training_rows(institutions: Iterable[Mapping[str, Any]], staff: Iterable[Mapping[str, Any]],
                  training: Iterable[Mapping[str, Any]], year: int) -> list[dict[str, object]]:
    """Training of the year per person working at a township or village institution (基层人员培训学时), in the
    columns of :data:`TRAINING_COLUMNS`; hours to 0.1."""
    tier = {str(i["inst_id"]): str(i["tier"]) for i in institutions}
    sessions: dict[str, int] = defaultdict(int)
    hours: dict[str, Decimal] = defaultdict(Decimal)
    for t in training:
        if t["date"].year == year:
            sessions[str(t["staff_id"])] += 1
            hours[str(t["staff_id"])] += Decimal(str(t["hours"]))
    out: list[dict[str, object]] = []
    for p in sorted(staff, key=lambda r: str(r["staff_id"])):
        at = _works_at(p)
        if tier.get(at) in PRIMARY:
            sid = str(p["staff_id"])
            out.append({"staff_id": sid, "name": p["name"], "title": p["title"],
                        "profession": p.get("profession") or "doctor", "works_at_id": at, "tier": tier[at],
                        "sessions": sessions.get(sid, 0),
                        "hours": str(hours.get(sid, Decimal(0)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))})
    return out


def _ratio(num: Decimal | None, den: Decimal | None, places: str = "0.01") -> str:
    if num is None or not den:
        return ""
    return str((num / den).quantize(Decimal(places), rounding=ROUND_HALF_UP))


def indicator_rows(data: DataFolder, year: int, policy: WorkforcePolicy, *, min_days: int = 183,
                   from_min_level: int = 2) -> list[dict[str, object]]:
    """2.1 and 2.3 per county and consortium from the workforce tables, as the national set defines them
    (docs/en/appraisal.md): 2.1 distinct doctors of a title in ``policy.attending_titles`` from an institution of
    level >= ``from_min_level`` stationed at a township/village institution of the scope for >= ``min_days`` of the
    year (one stint), per 10,000 insured persons of the scope (a consortium: its enrollees in the folder's
    ``designations`` of the year; ``yigongti appraise`` also derives them by enrolment when the folder has none); 2.3
    income per head of the township/village staff over income per head at the lead hospitals. A figure without its
    data is left empty. Scopes: the consortia's counties and the consortia."""
    inst = {str(i["inst_id"]): i for i in data["institutions"].to_pylist()}
    consortia = data["consortia"].to_pylist()
    leads = {str(c["lead_inst_id"]) for c in consortia}
    tables = appraisal_tables(data, year)
    scopes: list[tuple[str, str]] = sorted({("county", str(c["county_code"])) for c in consortia}) + \
        [("consortium", str(c["consortium_id"])) for c in consortia]

    def in_scope(inst_id: str, kind: str, scope: str) -> bool:
        i = inst.get(inst_id)
        if i is None:
            return False
        return str(i["county_code"]) == scope if kind == "county" else i.get("consortium_id") == scope

    persons = data["persons"]
    pop: dict[tuple[str, str], int] = {}
    by_county = persons.group_by("county_code").aggregate([("person_id", "count")]).to_pylist()
    pop |= {("county", str(r["county_code"])): int(r["person_id_count"]) for r in by_county}
    des = data.get("designations")
    if des is not None:
        this = des.filter(pc.equal(des.column("year"), year))
        for r in this.group_by("consortium_id").aggregate([("person_id", "count")]).to_pylist():
            pop[("consortium", str(r["consortium_id"]))] = int(r["person_id_count"])
    out: list[dict[str, object]] = []
    postings = _rows(tables.get("postings"))
    income = _rows(tables.get("staff_income"))
    for kind, scope in scopes:
        if postings:
            who = {p["staff_id"] for p in postings
                   if p["title"] in policy.attending_titles and in_scope(p["to_inst_id"], kind, scope)
                   and inst.get(p["to_inst_id"], {}).get("tier") in PRIMARY
                   and int(inst.get(p["from_inst_id"], {}).get("level", -1)) >= from_min_level
                   and stationed_days([(p["start_date"], p["end_date"])], year) >= min_days}
            den = pop.get((kind, scope))
            out.append({"scope_kind": kind, "scope": scope, "indicator": "2.1", "numerator": len(who),
                        "denominator": den if den is not None else "",
                        "value": _ratio(Decimal(len(who) * 10_000), Decimal(den) if den else None)})
        if income:
            mine = [r for r in income if in_scope(r["inst_id"], kind, scope)]
            prim = [r for r in mine if inst[r["inst_id"]]["tier"] in PRIMARY]
            lead = [r for r in mine if r["inst_id"] in leads]
            p_staff, l_staff = sum(r["staff"] for r in prim), sum(r["staff"] for r in lead)
            p_avg = Decimal(sum(r["income"] for r in prim)) / p_staff if p_staff else None
            l_avg = Decimal(sum(r["income"] for r in lead)) / l_staff if l_staff else None
            out.append({"scope_kind": kind, "scope": scope, "indicator": "2.3",
                        "numerator": _ratio(p_avg, Decimal(100)), "denominator": _ratio(l_avg, Decimal(100)),
                        "value": _ratio(p_avg, l_avg)})
    return out


@dataclass(frozen=True)
class StaffingSummary:
    """What ``yigongti workforce staffing`` found: township centres and consortia meeting their rule, files."""

    year: int
    townships: int
    townships_met: int
    consortia: int
    consortia_met: int
    files: tuple[Path, ...]


def _table(rows: list[dict[str, object]], columns: Iterable[str]) -> pa.Table:
    cols = list(columns)
    return pa.table({c: pa.array(["" if r[c] is None else str(r[c]).lower() if isinstance(r[c], bool)
                                  else str(r[c]) for r in rows], pa.string()) for c in cols})


def write_staffing(folder: Path, year: int, policy: WorkforcePolicy, out: Path) -> StaffingSummary:
    """OUT/stationing_coverage.csv, OUT/workforce_indicators.csv and OUT/training_hours.csv from the folder's
    ``staff``, ``stationing`` and ``training`` (:class:`InvalidInput` naming file, row and column for bad input)."""
    data = read_folder(folder, tables=["institutions", "consortia", "persons", "designations", "staff",
                                       "stationing", "training"])
    if data.get("staff") is None:
        raise InvalidInput([Problem("staff.csv", 0, "", "required for this command / 本命令需要人员表")])
    problems = reference_problems(data)
    if problems:
        raise InvalidInput(problems)
    institutions, consortia = data["institutions"].to_pylist(), data["consortia"].to_pylist()
    staff = data["staff"].to_pylist()
    rows = coverage_rows(institutions, consortia, staff, _rows(data.get("stationing")), year, policy)
    files = (write_table(_table([r.as_dict() for r in rows], COVERAGE_COLUMNS), out, "stationing_coverage"),
             write_table(_table(indicator_rows(data, year, policy), INDICATOR_COLUMNS), out,
                         "workforce_indicators"),
             write_table(_table(training_rows(institutions, staff, _rows(data.get("training")), year),
                                TRAINING_COLUMNS), out, "training_hours"))
    towns = [r for r in rows if r.rule is StaffingRule.ATTENDING]
    cons = [r for r in rows if r.rule is StaffingRule.CITY_EXPERTS]
    return StaffingSummary(year, len(towns), sum(r.coverage.met for r in towns), len(cons),
                           sum(r.coverage.met for r in cons), files)



def export_arrow(tables: Mapping[str, list[dict[str, object]]]) -> dict[str, pa.Table]:
    """Exported rows as Arrow tables in the contract's columns (money int fen, dates as dates), as a data folder
    holds them after reading."""
    out: dict[str, pa.Table] = {}
    for name, rows in tables.items():
        spec = TABLES[name]
        cols: dict[str, pa.Array] = {}
        for c in spec.columns:
            values = [r.get(c.name) for r in rows]
            if c.type in (ColType.MONEY, ColType.INT):
                cols[c.name] = pa.array(values, pa.int64())
            elif c.type is ColType.DATE:
                cols[c.name] = pa.array(values, pa.date32())
            else:
                cols[c.name] = pa.array([None if v is None else str(v) for v in values], pa.string())
        out[name] = pa.table(cols)
    return out


def write_export(tables: Mapping[str, list[dict[str, object]]], out: Path) -> list[Path]:
    """Write exported rows as data-folder tables in the contract's columns (money in yuan, dates ISO)."""
    return [write_table(t, out, name) for name, t in export_arrow(tables).items()]


DATABASE_TABLES = ("stationing", "training", "prescription_reviews", "record_checks")
"""The year's tables the database gives in place of the folder's when it has rows for the year (with ``staff``)."""


def with_database(data: DataFolder, tables: Mapping[str, list[dict[str, object]]]) -> DataFolder:
    """The folder with the database's workforce of the year (``service.workforce_tables``) in place of its own:
    each of ``stationing``, ``training``, ``prescription_reviews`` and ``record_checks`` for which the database has
    rows replaces the folder's table, and the incomes when it has any for the year. When any does, the database's
    ``staff`` join the folder's (a person in both: the database's row, with the folder's income when the database has
    no income of the year). The folder itself when the database has nothing for the year."""
    used = [n for n in DATABASE_TABLES if tables.get(n)]
    db_staff = list(tables.get("staff") or [])
    incomes = any(r.get("income") is not None for r in db_staff)
    if not used and not incomes:
        return data
    folder_staff = {str(r["staff_id"]): r for r in _rows(data.get("staff"))}
    staff: dict[str, dict[str, object]] = {k: dict(v) for k, v in folder_staff.items()}
    for r in db_staff:
        row = dict(r)
        old = folder_staff.get(str(r["staff_id"]))
        if not incomes:
            row["income"] = None if old is None else old.get("income")
        staff[str(r["staff_id"])] = row
    if incomes:  # the database's incomes of the year, not a mixture with the folder's
        in_db = {str(r["staff_id"]) for r in db_staff}
        for sid, row in staff.items():
            if sid not in in_db:
                row["income"] = None
    replaced = export_arrow({"staff": list(staff.values()), **{n: list(tables[n]) for n in used}})
    return DataFolder(data.path, {**data.tables, **replaced})
