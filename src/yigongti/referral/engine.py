"""Referral from a year's claims, columnar (理赔数据中的转诊提示): Ibis on DuckDB.

For a county whose hospitals do not run the workflow yet, two lists from the claims of a data folder:

- ``referral_flags.csv`` (基层首诊提示): claims at a county-tier institution, not emergencies, without
  ``referral_from``, whose diagnosis is in the first-visit catalogue: the patient went to the county hospital for a
  disease the township should see first;
- ``down_referral_proposals.csv`` (建议下转): discharged county-tier admissions whose diagnosis is in the refer-down
  catalogue and that no later claim names as its ``referral_from``: a stable case the hospital should hand back, with
  the person's designated township (the latest designation up to the year) as the proposed receiver.

The catalogues are read here (:func:`load_catalogues`): ours (``catalogues.toml`` beside this module) with the
policy's ``referral.catalogues`` file (absolute, or relative to ``base``) laid over it key by key. Diagnoses are matched
by ``domain.Catalogue.match`` once per distinct diagnosis (the same rule as the platform's service call), then joined.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from yigongti.core.engine import connect
from yigongti.core.money import format_yuan
from yigongti.core.policy import ReferralPolicy
from yigongti.core.problems import InvalidInput, Problem
from yigongti.datafolder.folder import DataFolder, read_folder, write_table
from yigongti.referral.domain import (
    COMPLETED,
    Catalogue,
    CatalogueError,
    Catalogues,
    InternalService,
    StatementLine,
    catalogues_from_toml,
    internal_statement,
)
from yigongti.registry.domain import Tier

__all__ = [
    "DEFAULT_CATALOGUES",
    "FLAG_COLUMNS",
    "PROPOSAL_COLUMNS",
    "STATEMENT_COLUMNS",
    "FlagSummary",
    "StatementSummary",
    "down_referral_proposals",
    "first_visit_flags",
    "folder_services",
    "load_catalogues",
    "statement_table",
    "write_flags",
    "write_statement",
]

DEFAULT_CATALOGUES = Path(__file__).resolve().parent / "catalogues.toml"
FLAG_COLUMNS = ("claim_id", "person_id", "inst_id", "admit_date", "diagnosis", "disease", "disease_label")
"""``referral_flags.csv``: a county-tier visit for a first-visit disease without a referral."""
PROPOSAL_COLUMNS = ("claim_id", "person_id", "inst_id", "discharge_date", "diagnosis", "disease", "disease_label",
                    "to_inst_id")
"""``down_referral_proposals.csv``: a stable refer-down case and the township proposed to take it back."""


STATEMENT_COLUMNS = ("consortium_id", "month", "inst_id", "item", "services", "received", "paid", "net")
"""``internal_statement.csv``: a member's monthly internal statement, one line per item; money in yuan."""


def load_catalogues(policy: ReferralPolicy, base: Path | None = None) -> Catalogues:
    """Ours, with the policy's file (relative to ``base``) laid over it key by key; :class:`InvalidInput` naming the
    file, the catalogue and the code when it is unusable."""
    ours = tomllib.loads(DEFAULT_CATALOGUES.read_text(encoding="utf-8"))
    if not policy.catalogues:
        return catalogues_from_toml("", source=str(DEFAULT_CATALOGUES), base=ours)
    path = Path(policy.catalogues)
    if not path.is_absolute() and base is not None:
        path = base / path
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput([Problem(str(path), 0, "referral.catalogues",
                                    f"cannot read the catalogues: {exc.strerror} / 无法读取病种目录")]) from None
    try:
        return catalogues_from_toml(text, source=str(path), base=ours)
    except CatalogueError as exc:
        raise InvalidInput([Problem(str(path), 0, "referral.catalogues", str(exc))]) from None


def _diseases(t: ir.Table, catalogue: Catalogue) -> ir.Table:
    """``t`` with ``disease`` and ``disease_label`` for the diagnoses in ``catalogue`` (the others dropped)."""
    codes = t.select("diagnosis").distinct().to_pyarrow().column("diagnosis").to_pylist()
    hits = [(dx, *m) for dx in codes if dx and (m := catalogue.match(dx)) is not None]
    lookup = ibis.memtable(pa.table({"_dx": pa.array([h[0] for h in hits], pa.string()),
                                     "disease": pa.array([h[1] for h in hits], pa.string()),
                                     "disease_label": pa.array([h[2] for h in hits], pa.string())}))
    return t.join(lookup, t.diagnosis == lookup._dx).drop("_dx")


def _county_claims(data: DataFolder, year: int) -> ir.Table:
    c = ibis.memtable(data["claims"])
    i = ibis.memtable(data["institutions"].select(["inst_id", "tier"])).rename(_iid="inst_id")
    c = c.join(i, c.inst_id == i._iid)
    return c.filter((c.tier == Tier.COUNTY.value) & (c.admit_date.year() == year) & c.diagnosis.notnull())


def first_visit_flags(data: DataFolder, year: int, catalogues: Catalogues) -> pa.Table:
    """The year's county-tier claims for a first-visit disease without a referral and not an emergency."""
    con = connect("duckdb")
    try:
        c = _county_claims(data, year)
        c = c.filter(~c.emergency & (c.referral_from.isnull() | (c.referral_from == "")))
        t = _diseases(c, catalogues.first_visit)
        return con.to_pyarrow(t.select(*FLAG_COLUMNS).order_by(["admit_date", "claim_id"]))
    finally:
        con.disconnect()


def down_referral_proposals(data: DataFolder, year: int, catalogues: Catalogues) -> pa.Table:
    """The year's discharged county-tier admissions for a refer-down disease that no claim names as its
    ``referral_from``, with the person's designated township (the latest designation up to ``year``; empty when
    there is none)."""
    con = connect("duckdb")
    try:
        c = _county_claims(data, year)
        c = c.filter((c.setting == "inpatient") & c.discharge_date.notnull())
        every = ibis.memtable(data["claims"].select(["referral_from"]))
        sent = every.filter(every.referral_from.notnull()).select(_ref=every.referral_from).distinct()
        c = c.left_join(sent, c.claim_id == sent._ref)
        c = c.filter(c._ref.isnull()).drop("_ref")
        t = _diseases(c, catalogues.refer_down)
        des = data.get("designations")
        if des is not None:
            d = ibis.memtable(des.select(["person_id", "year", "township_id"]))
            d = d.filter(d.year <= year)
            d = d.filter(d.year == d.year.max().over(group_by=d.person_id))
            d = d.select(_pid=d.person_id, to_inst_id=d.township_id)
            t = t.left_join(d, t.person_id == d._pid).drop("_pid")
        else:
            t = t.mutate(to_inst_id=ibis.null("string"))
        return con.to_pyarrow(t.select(*PROPOSAL_COLUMNS).order_by(["discharge_date", "claim_id"]))
    finally:
        con.disconnect()


@dataclass(frozen=True)
class FlagSummary:
    """What the batch found and where it wrote it."""

    year: int
    flags: int
    proposals: int
    flags_path: Path
    proposals_path: Path


def write_flags(folder: Path, year: int, policy: ReferralPolicy, out: Path) -> FlagSummary:
    """``out/referral_flags.csv`` and ``out/down_referral_proposals.csv`` from the year's claims of ``folder``."""
    catalogues = load_catalogues(policy, folder)
    data = read_folder(folder, tables=["institutions", "claims", "designations"])
    if data.get("claims") is None:
        raise InvalidInput([Problem("claims.csv", 0, "", "required table is missing / 缺少必需的表")])
    flags = first_visit_flags(data, year, catalogues)
    proposals = down_referral_proposals(data, year, catalogues)
    return FlagSummary(year, flags.num_rows, proposals.num_rows, write_table(flags, out, "referral_flags"),
                       write_table(proposals, out, "down_referral_proposals"))


# ------------------------------------------------------------------------------------------------ internal statement

def folder_services(data: DataFolder, year: int) -> list[InternalService]:
    """The year's services between institutions in a data folder: referrals completed in the year (``referrals``:
    completed or returned, by ``completed_at``) and remote diagnoses dated in the year (``remote_diagnoses``)."""
    out: list[InternalService] = []
    refs = data.get("referrals")
    if refs is not None:
        done = {s.value for s in COMPLETED}
        for r in refs.select(["from_inst_id", "to_inst_id", "direction", "status", "completed_at"]).to_pylist():
            at = r["completed_at"]
            if r["status"] in done and at is not None and at.year == year:
                out.append(InternalService(f"{r['direction']}_referral", f"{at:%Y-%m}", r["from_inst_id"],
                                           r["to_inst_id"]))
    remote = data.get("remote_diagnoses")
    if remote is not None:
        for d in remote.select(["from_inst_id", "to_inst_id", "date", "kind"]).to_pylist():
            if d["date"].year == year:
                out.append(InternalService(d["kind"], f"{d['date']:%Y-%m}", d["from_inst_id"], d["to_inst_id"]))
    return out


def statement_table(lines: list[StatementLine]) -> pa.Table:
    """The statement's lines in the columns of ``internal_statement.csv`` (money as yuan text)."""
    cols: dict[str, list[object]] = {c: [] for c in STATEMENT_COLUMNS}
    for ln in lines:
        for c, v in zip(STATEMENT_COLUMNS, (ln.consortium_id, ln.month, ln.inst_id, ln.item, ln.services,
                                            format_yuan(ln.received), format_yuan(ln.paid), format_yuan(ln.net)),
                        strict=True):
            cols[c].append(v)
    return pa.table({c: pa.array(v, pa.int64() if c == "services" else pa.string()) for c, v in cols.items()})


@dataclass(frozen=True)
class StatementSummary:
    """What the statement holds: services priced, services left out, the total moved between members (fen)."""

    year: int
    services: int
    skipped: int
    moved: int
    path: Path


def write_statement(folder: Path, year: int, policy: ReferralPolicy, out: Path) -> StatementSummary:
    """``out/internal_statement.csv``: each member's monthly internal statement for ``year`` from the folder's
    ``referrals`` and ``remote_diagnoses`` tables (either may be absent), priced by ``policy.prices``."""
    data = read_folder(folder, tables=["institutions", "referrals", "remote_diagnoses"])
    inst = data["institutions"]
    consortium_of = dict(zip(inst.column("inst_id").to_pylist(), inst.column("consortium_id").to_pylist(),
                             strict=True))
    services = folder_services(data, year)
    lines, skipped = internal_statement(services, consortium_of, policy.prices)
    path = write_table(statement_table(lines), out, "internal_statement")
    return StatementSummary(year, len(services) - skipped, skipped, sum(ln.received for ln in lines), path)
