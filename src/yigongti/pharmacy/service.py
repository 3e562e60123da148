"""Pharmacy use cases (药品用例), one transaction each: the catalogue, receipts and issues, shortages and their
dispatch to delivery, stock-out alerts.

Who may do what: the consortium admin keeps the catalogue; a clinician or the admin of an institution receives and
issues its stock and registers its shortages; the admin of a county-tier institution of the same consortium (the
central pharmacy 县级中心药房) dispatches a shortage from its own stock; the registering institution confirms the
delivery (its stock grows) or cancels a shortage not yet dispatched. No personal data is involved; every change is
audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from yigongti.core.policy import PharmacyPolicy
from yigongti.core.problems import Conflict, InvalidRequest, NotAllowed, NotFound
from yigongti.pharmacy.domain import (
    RX_LABELS,
    Drug,
    InsufficientStock,
    ShortageStatus,
    TransitionNotAllowed,
    check_transition,
    days_left,
    needs_alert,
)
from yigongti.pharmacy.store import (
    DrugRow,
    PrescriptionLineRow,
    PrescriptionRow,
    ShortageRow,
    StockMoveRow,
)
from yigongti.pharmacy.uow import PharmacyUnitOfWork
from yigongti.platform.accounts import Principal, Role
from yigongti.platform.audit import actor_of
from yigongti.registry.domain import Tier

__all__ = [
    "CATALOGUE_COLUMNS",
    "InvalidRequest",
    "NotAllowed",
    "NotFound",
    "ShortageView",
    "PrescriptionView",
    "StockAlert",
    "cancel_prescription",
    "dispense_prescription",
    "moves_of",
    "prescriptions_for",
    "write_prescription",
    "cancel_shortage",
    "deliver_shortage",
    "dispatch_shortage",
    "catalogue",
    "issue",
    "load_catalogue",
    "put_drug",
    "stock_of",
    "overseen",
    "receive",
    "register_shortage",
    "shortages_for",
    "stock_alerts",
]





def _staff_of(principal: Principal, inst_id: str) -> bool:
    return principal.role in (Role.CLINICIAN, Role.INSTITUTION_ADMIN) and principal.inst_id == inst_id


def _audit(uow: PharmacyUnitOfWork, principal: Principal, action: str, now: datetime, **detail: object) -> None:
    uow.audit.add(actor=actor_of(principal), action=action, at=now, detail=detail)


def put_drug(uow: PharmacyUnitOfWork, principal: Principal, drug: Drug, *, now: datetime) -> None:
    """Add or change a drug of the consortium's catalogue (consortium admin)."""
    if principal.role not in (Role.CONSORTIUM_ADMIN, Role.SYSTEM_ADMIN):
        raise NotAllowed("仅医共体管理中心维护药品目录 / the consortium admin keeps the catalogue")
    with uow:
        uow.pharmacy.put_drug(DrugRow(drug_code=drug.drug_code, generic_name=drug.generic_name, form=drug.form,
                                      strength=drug.strength, unit=drug.unit, essential=drug.essential))
        _audit(uow, principal, "drug catalogue put", now, drug_code=drug.drug_code)
        uow.commit()


def catalogue(uow: PharmacyUnitOfWork) -> list[Drug]:
    """The consortium's drug catalogue, by drug code."""
    with uow:
        return [Drug(d.drug_code, d.generic_name, d.form, d.strength, d.essential, d.unit)
                for d in uow.pharmacy.drugs()]


CATALOGUE_COLUMNS = ("drug_code", "generic_name", "form", "strength", "unit", "essential")


def load_catalogue(uow: PharmacyUnitOfWork, rows: list[dict[str, str]], *, source: str,
                   now: datetime) -> int:
    """Load the catalogue from a file's rows (the system's move, one transaction); :class:`InvalidRequest` naming
    ``source:row:column`` for the first bad cell (row 2 is the first after the header)."""
    drugs: list[Drug] = []
    for i, r in enumerate(rows, start=2):
        for col in ("drug_code", "generic_name", "form", "strength"):
            value = (r.get(col) or "").strip()
            if not value or len(value) > (64 if col != "generic_name" else 200):
                raise InvalidRequest(f"{source}:{i}:{col}", "required, at most 64 characters (name 200) / 必填")
        essential = (r.get("essential") or "false").strip().lower()
        if essential not in ("true", "false", "1", "0", "是", "否"):
            raise InvalidRequest(f"{source}:{i}:essential", "must be true or false / 须为 true 或 false")
        drugs.append(Drug(r["drug_code"].strip(), r["generic_name"].strip(), r["form"].strip(),
                          r["strength"].strip(), essential in ("true", "1", "是"),
                          (r.get("unit") or "片").strip()[:16] or "片"))
    with uow:
        for d in drugs:
            uow.pharmacy.put_drug(DrugRow(drug_code=d.drug_code, generic_name=d.generic_name, form=d.form,
                                          strength=d.strength, unit=d.unit, essential=d.essential))
        uow.audit.add(actor="system:cli", action="drug catalogue loaded", at=now, detail={"drugs": len(drugs)})
        uow.commit()
    return len(drugs)


def _overseen(uow: PharmacyUnitOfWork, principal: Principal) -> list[str]:
    if principal.role is Role.CONSORTIUM_ADMIN and principal.consortium_id:
        return uow.pharmacy.institutions_of(principal.consortium_id)
    if principal.role in (Role.CLINICIAN, Role.INSTITUTION_ADMIN) and principal.inst_id:
        return [principal.inst_id]
    raise NotAllowed("仅医共体管理中心和机构人员可查看 / consortium admin and institution staff only")


def stock_of(uow: PharmacyUnitOfWork, principal: Principal, inst_id: str) -> list[tuple[Drug, int]]:
    """An institution's stock, for its staff and its consortium's admin (404 for anyone else)."""
    with uow:
        if inst_id not in _overseen(uow, principal):
            raise NotFound(f"机构 {inst_id} 不存在或无权查看 / no institution {inst_id} in your scope")
        return [(Drug(d.drug_code, d.generic_name, d.form, d.strength, d.essential, d.unit), s.on_hand)
                for s, d in uow.pharmacy.stock_of(inst_id)]


def _check(uow: PharmacyUnitOfWork, inst_id: str, drug_code: str, quantity: int) -> None:
    if quantity < 1:
        raise InvalidRequest("quantity", "must be at least 1 / 数量至少为 1")
    if uow.pharmacy.drug(drug_code) is None:
        raise InvalidRequest("drug_code", f"{drug_code} is not in the catalogue / 药品不在目录中")
    if uow.pharmacy.institution(inst_id) is None:
        raise NotFound(f"机构 {inst_id} 不存在 / no institution {inst_id}")


def receive(uow: PharmacyUnitOfWork, principal: Principal, *, inst_id: str, drug_code: str, quantity: int,
            now: datetime) -> int:
    """入库 / Receive stock; the new stock on hand."""
    if not _staff_of(principal, inst_id):
        raise NotAllowed("仅本机构人员可入库 / staff of the institution only")
    with uow:
        _check(uow, inst_id, drug_code, quantity)
        uow.pharmacy.add_stock(inst_id, drug_code, quantity)
        uow.pharmacy.add_move(StockMoveRow(inst_id=inst_id, drug_code=drug_code, kind="receipt", quantity=quantity,
                                           at=now, actor=actor_of(principal)))
        _audit(uow, principal, "drug receipt", now, inst_id=inst_id, drug_code=drug_code, quantity=quantity)
        left = uow.pharmacy.on_hand(inst_id, drug_code)
        uow.commit()
    return left


def issue(uow: PharmacyUnitOfWork, principal: Principal, *, inst_id: str, drug_code: str, quantity: int,
          now: datetime) -> int:
    """发药 / Issue stock (one conditional UPDATE: never below zero, even at once); the stock left.
    :class:`InsufficientStock` (409) when fewer are on hand."""
    if not _staff_of(principal, inst_id):
        raise NotAllowed("仅本机构人员可发药 / staff of the institution only")
    with uow:
        _check(uow, inst_id, drug_code, quantity)
        if not uow.pharmacy.take_stock(inst_id, drug_code, quantity):
            raise InsufficientStock(uow.pharmacy.on_hand(inst_id, drug_code), quantity)
        uow.pharmacy.add_move(StockMoveRow(inst_id=inst_id, drug_code=drug_code, kind="issue", quantity=quantity,
                                           at=now, actor=actor_of(principal)))
        _audit(uow, principal, "drug issue", now, inst_id=inst_id, drug_code=drug_code, quantity=quantity)
        left = uow.pharmacy.on_hand(inst_id, drug_code)
        uow.commit()
    return left


def register_shortage(uow: PharmacyUnitOfWork, principal: Principal, *, inst_id: str, drug_code: str,
                      quantity: int, note: str = "", now: datetime) -> ShortageRow:
    """缺药登记 / A clinic registers a shortage for the central pharmacy to dispatch."""
    if not _staff_of(principal, inst_id):
        raise NotAllowed("仅本机构人员可登记缺药 / staff of the institution only")
    with uow:
        _check(uow, inst_id, drug_code, quantity)
        row = uow.pharmacy.add_shortage(ShortageRow(
            inst_id=inst_id, drug_code=drug_code, quantity=quantity, status=ShortageStatus.REGISTERED.value,
            note=note or None, registered_at=now, registered_by=actor_of(principal), updated_at=now))
        _audit(uow, principal, "drug shortage registered", now, shortage_id=row.shortage_id)
        uow.commit()
    return row


def _shortage(uow: PharmacyUnitOfWork, shortage_id: int) -> ShortageRow:
    row = uow.pharmacy.shortage(shortage_id)
    if row is None:
        raise NotFound(f"缺药登记 {shortage_id} 不存在 / no shortage {shortage_id}")
    return row


def _move(uow: PharmacyUnitOfWork, row: ShortageRow, target: ShortageStatus, **values: object) -> None:
    check_transition(row.status, target)
    if not uow.pharmacy.move_shortage(row.shortage_id, from_status=row.status, to_status=target.value, **values):
        raise TransitionNotAllowed(row.status, target.value)  # moved by someone else meanwhile


def dispatch_shortage(uow: PharmacyUnitOfWork, principal: Principal, shortage_id: int, *, tracking: str = "",
                      now: datetime) -> None:
    """配送发出 / The central pharmacy (the admin of a county-tier institution of the shortage's consortium)
    dispatches the shortage from its own stock (refused when it has too few: 409)."""
    with uow:
        row = _shortage(uow, shortage_id)
        src = uow.pharmacy.institution(principal.inst_id or "")
        dst = uow.pharmacy.institution(row.inst_id)
        if principal.role is not Role.INSTITUTION_ADMIN or src is None or dst is None \
                or src.tier != Tier.COUNTY.value or src.consortium_id != dst.consortium_id:
            raise NotAllowed("仅本医共体县级中心药房可配送 / the consortium's county central pharmacy dispatches")
        check_transition(row.status, ShortageStatus.DISPATCHED)
        if not uow.pharmacy.take_stock(src.inst_id, row.drug_code, row.quantity):
            raise InsufficientStock(uow.pharmacy.on_hand(src.inst_id, row.drug_code), row.quantity)
        uow.pharmacy.add_move(StockMoveRow(inst_id=src.inst_id, drug_code=row.drug_code, kind="dispatch",
                                           quantity=row.quantity, at=now, actor=actor_of(principal),
                                           shortage_id=row.shortage_id))
        _move(uow, row, ShortageStatus.DISPATCHED, from_inst_id=src.inst_id, tracking=tracking or None,
              dispatched_at=now, updated_at=now)
        _audit(uow, principal, "drug shortage dispatched", now, shortage_id=shortage_id)
        uow.commit()


def deliver_shortage(uow: PharmacyUnitOfWork, principal: Principal, shortage_id: int, *, now: datetime) -> int:
    """配送入库 / The registering institution confirms the delivery: its stock grows; the stock on hand."""
    with uow:
        row = _shortage(uow, shortage_id)
        if not _staff_of(principal, row.inst_id):
            raise NotFound(f"缺药登记 {shortage_id} 不存在 / no shortage {shortage_id}")
        _move(uow, row, ShortageStatus.DELIVERED, delivered_at=now, updated_at=now)
        uow.pharmacy.add_stock(row.inst_id, row.drug_code, row.quantity)
        uow.pharmacy.add_move(StockMoveRow(inst_id=row.inst_id, drug_code=row.drug_code, kind="delivery",
                                           quantity=row.quantity, at=now, actor=actor_of(principal),
                                           shortage_id=row.shortage_id))
        _audit(uow, principal, "drug shortage delivered", now, shortage_id=shortage_id)
        left = uow.pharmacy.on_hand(row.inst_id, row.drug_code)
        uow.commit()
    return left


def cancel_shortage(uow: PharmacyUnitOfWork, principal: Principal, shortage_id: int, *, now: datetime) -> None:
    """The registering institution cancels a shortage not yet dispatched."""
    with uow:
        row = _shortage(uow, shortage_id)
        if not _staff_of(principal, row.inst_id):
            raise NotFound(f"缺药登记 {shortage_id} 不存在 / no shortage {shortage_id}")
        _move(uow, row, ShortageStatus.CANCELLED, updated_at=now)
        _audit(uow, principal, "drug shortage cancelled", now, shortage_id=shortage_id)
        uow.commit()


@dataclass(frozen=True)
class StockAlert:
    """断货预警 / a drug that runs out within ``alert_days`` at the usage of the last weeks."""

    inst_id: str
    drug_code: str
    generic_name: str
    on_hand: int
    issued: int
    days_left: Decimal


def stock_alerts(uow: PharmacyUnitOfWork, principal: Principal, *, policy: PharmacyPolicy,
                 now: datetime) -> list[StockAlert]:
    """The drugs about to run out in the institutions the principal oversees (consortium admin: the consortium;
    clinician or admin: their institution), fewest days left first."""
    with uow:
        insts = _overseen(uow, principal)
        since = now - timedelta(weeks=policy.usage_weeks)
        out: list[StockAlert] = []
        issued = uow.pharmacy.issued_since_many(insts, since)  # two queries whatever the number of members
        for inst_id, drug_code, on_hand, generic_name in uow.pharmacy.stock_of_many(insts):
            used = issued.get((inst_id, drug_code), 0)
            if needs_alert(on_hand, used, policy.usage_weeks, policy.alert_days):
                left = days_left(on_hand, used, policy.usage_weeks)
                assert left is not None
                out.append(StockAlert(inst_id, drug_code, generic_name, on_hand, used, left))
    return sorted(out, key=lambda a: (a.days_left, a.inst_id, a.drug_code))


def overseen(uow: PharmacyUnitOfWork, principal: Principal) -> list[str]:
    """The institutions whose stock the principal may see (consortium admin: the consortium's; staff: their own)."""
    with uow:
        return sorted(_overseen(uow, principal))


@dataclass(frozen=True)
class ShortageView:
    """缺药登记 / a shortage as a list shows it, with what the reader may do with it."""

    row: ShortageRow
    generic_name: str
    unit: str
    may_dispatch: bool
    may_deliver: bool
    may_cancel: bool


def shortages_for(uow: PharmacyUnitOfWork, principal: Principal) -> list[ShortageView]:
    """The shortages the principal follows, open ones first, then newest first: a clinic's staff their own; the
    admin of a county-tier institution (the central pharmacy) every member of its consortium; the consortium admin
    the consortium's."""
    with uow:
        me = uow.pharmacy.institution(principal.inst_id or "") if principal.inst_id else None
        central = principal.role is Role.INSTITUTION_ADMIN and me is not None and me.tier == Tier.COUNTY.value \
            and bool(me.consortium_id)
        insts = uow.pharmacy.institutions_of(me.consortium_id) if central and me is not None and me.consortium_id \
            else _overseen(uow, principal)
        rows = uow.pharmacy.shortages(insts)
        drugs = {d.drug_code: d for d in uow.pharmacy.drugs()}
    out = []
    for r in rows:
        d = drugs.get(r.drug_code)
        own = _staff_of(principal, r.inst_id)
        dispatch = central and r.status == ShortageStatus.REGISTERED.value and r.inst_id != principal.inst_id
        out.append(ShortageView(r, d.generic_name if d else r.drug_code, d.unit if d else "", dispatch,
                                own and r.status == ShortageStatus.DISPATCHED.value,
                                own and r.status == ShortageStatus.REGISTERED.value))
    open_states = (ShortageStatus.REGISTERED.value, ShortageStatus.DISPATCHED.value)
    out.sort(key=lambda v: (v.row.status not in open_states, -v.row.registered_at.timestamp(), -v.row.shortage_id))
    return out


def moves_of(uow: PharmacyUnitOfWork, principal: Principal, inst_id: str, *,
             limit: int = 200) -> list[tuple[StockMoveRow, str, str]]:
    """出入库记录 / An institution's latest stock moves (who, when, what), newest first, with each drug's generic
    name and unit: its staff and its consortium's admin (404 for anyone else)."""
    with uow:
        if inst_id not in _overseen(uow, principal):
            raise NotFound(f"机构 {inst_id} 不存在或无权查看 / no institution {inst_id} in your scope")
        return uow.pharmacy.moves(inst_id, limit=limit)


def write_prescription(uow: PharmacyUnitOfWork, principal: Principal, *, person_id: str,
                       lines: list[tuple[str, int]], note: str = "", now: datetime) -> int:
    """开处方 / A clinician writes a prescription at their institution (a member of a consortium), to be dispensed at
    any member of it; the prescription's number. Each drug from the catalogue, each quantity at least 1."""
    if principal.role is not Role.CLINICIAN or not principal.inst_id:
        raise NotAllowed("仅医生可开处方 / clinicians only")
    if not lines or len(lines) > 20:
        raise InvalidRequest("lines", "one to twenty drugs / 一至二十种药品")
    if len({code for code, _ in lines}) != len(lines):
        raise InvalidRequest("lines", "a drug appears twice / 药品重复")
    with uow:
        inst = uow.pharmacy.institution(principal.inst_id)
        if inst is None or not inst.consortium_id:
            raise NotAllowed("本机构不属于医共体 / your institution is in no consortium")
        for n, (code, quantity) in enumerate(lines):
            if quantity < 1 or quantity > 100_000:
                raise InvalidRequest(f"lines.{n}.quantity", "from 1 to 100,000 / 数量须在 1 到 100,000 之间")
            if uow.pharmacy.drug(code) is None:
                raise InvalidRequest(f"lines.{n}.drug_code", f"{code} is not in the catalogue / 药品不在目录中")
        if not uow.pharmacy.person_exists(person_id):
            raise InvalidRequest("person_id", f"no insured person {person_id} / 参保人不存在")
        row = uow.pharmacy.add_prescription(
            PrescriptionRow(person_id=person_id, consortium_id=inst.consortium_id, written_inst_id=inst.inst_id,
                            written_by=actor_of(principal), written_at=now, status="written", note=note or None),
            [PrescriptionLineRow(drug_code=code, quantity=q) for code, q in lines])
        rx_id = row.rx_id
        uow.audit.add(actor=actor_of(principal), action="prescription written", at=now, person_id=person_id,
                      detail={"rx_id": rx_id})
        uow.commit()
    return rx_id


def _rx_in_consortium(uow: PharmacyUnitOfWork, principal: Principal, rx_id: int) -> PrescriptionRow:
    row = uow.pharmacy.prescription(rx_id)
    me = uow.pharmacy.institution(principal.inst_id or "")
    if row is None or me is None or me.consortium_id != row.consortium_id:
        raise NotFound(f"处方 {rx_id} 不存在 / no prescription {rx_id}")
    return row


def dispense_prescription(uow: PharmacyUnitOfWork, principal: Principal, rx_id: int, *, now: datetime) -> str:
    """发药 / Staff of any member of the prescription's consortium dispense it from THEIR stock, every line or none
    (:class:`InsufficientStock` 409 names the first short drug); once only, even when two pharmacies try at once
    (the second gets 409); the dispensing institution."""
    if principal.role not in (Role.CLINICIAN, Role.INSTITUTION_ADMIN) or not principal.inst_id:
        raise NotAllowed("仅医共体成员机构人员可发药 / staff of a member institution only")
    at = principal.inst_id
    with uow:
        row = _rx_in_consortium(uow, principal, rx_id)
        if row.status != "written":
            raise Conflict(f"处方 {rx_id} 已{RX_LABELS.get(row.status, row.status)} / prescription {rx_id} is "
                           f"{row.status}")
        if not uow.pharmacy.move_prescription(rx_id, from_status="written", to_status="dispensed",
                                              dispensed_inst_id=at, dispensed_by=actor_of(principal),
                                              dispensed_at=now):
            raise Conflict(f"处方 {rx_id} 已被其他机构发药 / prescription {rx_id} was dispensed meanwhile")
        for line in uow.pharmacy.prescription_lines([rx_id]):
            if not uow.pharmacy.take_stock(at, line.drug_code, line.quantity):
                raise InsufficientStock(uow.pharmacy.on_hand(at, line.drug_code), line.quantity)
            uow.pharmacy.add_move(StockMoveRow(inst_id=at, drug_code=line.drug_code, kind="issue",
                                               quantity=line.quantity, at=now, actor=actor_of(principal)))
        uow.audit.add(actor=actor_of(principal), action="prescription dispensed", at=now, person_id=row.person_id,
                      detail={"rx_id": rx_id, "inst_id": at})
        uow.commit()
    return at


def cancel_prescription(uow: PharmacyUnitOfWork, principal: Principal, rx_id: int, *, now: datetime) -> None:
    """作废 / Staff of the writing institution cancel a prescription not yet dispensed (409 once dispensed)."""
    with uow:
        row = uow.pharmacy.prescription(rx_id)
        if row is None or not _staff_of(principal, row.written_inst_id):
            raise NotFound(f"处方 {rx_id} 不存在 / no prescription {rx_id}")
        if not uow.pharmacy.move_prescription(rx_id, from_status="written", to_status="cancelled"):
            raise Conflict(f"处方 {rx_id} 不能作废 / prescription {rx_id} is no longer open")
        uow.audit.add(actor=actor_of(principal), action="prescription cancelled", at=now, person_id=row.person_id,
                      detail={"rx_id": rx_id})
        uow.commit()


@dataclass(frozen=True)
class PrescriptionView:
    """A prescription as a list shows it: its lines (drug code, generic name, quantity, unit, on hand here) and what
    the reader may do."""

    row: PrescriptionRow
    lines: tuple[tuple[str, str, int, str, int], ...]
    may_dispense: bool
    may_cancel: bool


def prescriptions_for(uow: PharmacyUnitOfWork, principal: Principal, *, now: datetime,
                      days: int = 30) -> list[PrescriptionView]:
    """The prescriptions a member's staff follow: the open ones of their consortium (to dispense) and those written
    or dispensed at their institution in the last ``days`` days; open first, newest first. Audited (they name
    persons)."""
    if principal.role not in (Role.CLINICIAN, Role.INSTITUTION_ADMIN) or not principal.inst_id:
        raise NotAllowed("仅医共体成员机构人员可查看处方 / staff of a member institution only")
    with uow:
        me = uow.pharmacy.institution(principal.inst_id)
        if me is None:
            raise NotFound(f"机构 {principal.inst_id} 不存在 / no institution {principal.inst_id}")
        rows = uow.pharmacy.prescriptions(consortium_id=me.consortium_id, inst_id=me.inst_id,
                                          since=now - timedelta(days=days))
        lines = uow.pharmacy.prescription_lines([r.rx_id for r in rows]) if rows else []
        drugs = {d.drug_code: d for d in uow.pharmacy.drugs()}
        stock = {code: n for _, code, n, _ in uow.pharmacy.stock_of_many([me.inst_id])}
        if rows:
            uow.audit.add(actor=actor_of(principal), action="prescriptions listed", at=now,
                          detail={"rx_ids": [r.rx_id for r in rows[:50]], "count": len(rows)})
            uow.commit()
    by_rx: dict[int, list[tuple[str, str, int, str, int]]] = {}
    for ln in lines:
        d = drugs.get(ln.drug_code)
        by_rx.setdefault(ln.rx_id, []).append((ln.drug_code, d.generic_name if d else ln.drug_code, ln.quantity,
                                               d.unit if d else "", stock.get(ln.drug_code, 0)))
    out = [PrescriptionView(r, tuple(by_rx.get(r.rx_id, [])), r.status == "written",
                            r.status == "written" and r.written_inst_id == me.inst_id) for r in rows]
    out.sort(key=lambda v: (v.row.status != "written", -v.row.written_at.timestamp(), -v.row.rx_id))
    return out
