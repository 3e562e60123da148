"""Pharmacy tables (药品数据表) and their repository: the drug catalogue, stock per institution, every stock move, and
shortages with their dispatch.

Stock never goes negative, on SQLite and PostgreSQL alike: an issue is ONE conditional UPDATE
(``on_hand = on_hand - q WHERE on_hand >= q``) the database evaluates on the row it locks, so two issues at once can
never both take the last units; a CHECK (``on_hand >= 0``) guards it again. A shortage moves by a conditional UPDATE
(``WHERE status = <the status it was read in>``). Times are China time (UTC+8) without a zone.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from yigongti.core.db import ID_LENGTH as _ID
from yigongti.core.db import Base
from yigongti.enrollment.store import PersonRow
from yigongti.pharmacy.domain import ShortageStatus
from yigongti.registry.store import InstitutionRow

__all__ = ["DrugRow", "PharmacyRepository", "PrescriptionLineRow", "PrescriptionRow", "ShortageRow", "StockMoveRow",
           "StockRow"]

_STATUSES = ", ".join(repr(s.value) for s in ShortageStatus)
MOVE_KINDS = ("receipt", "issue", "dispatch", "delivery")


class DrugRow(Base):
    """药品目录 / one drug of the consortium's catalogue, keyed by its national insurance drug code."""

    __tablename__ = "drugs"

    drug_code: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    generic_name: Mapped[str] = mapped_column(String(200))
    form: Mapped[str] = mapped_column(String(64))
    strength: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(16))
    essential: Mapped[bool] = mapped_column(Boolean, default=False)


class StockRow(Base):
    """库存 / what an institution has on hand of a drug, in smallest units."""

    __tablename__ = "drug_stock"
    __table_args__ = (CheckConstraint("on_hand >= 0", name="on_hand"),)

    inst_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("institutions.inst_id"), primary_key=True)
    drug_code: Mapped[str] = mapped_column(String(_ID), ForeignKey("drugs.drug_code"), primary_key=True)
    on_hand: Mapped[int] = mapped_column(Integer, default=0)


class StockMoveRow(Base):
    """出入库记录 / one move of stock (append-only): receipt 入库, issue 发药, dispatch 配送发出, delivery 配送入库."""

    __tablename__ = "drug_stock_moves"
    __table_args__ = (
        CheckConstraint("kind IN ('receipt', 'issue', 'dispatch', 'delivery')", name="kind"),
        CheckConstraint("quantity > 0", name="quantity"),
        Index(None, "inst_id", "drug_code", "at"),
    )

    move_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inst_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("institutions.inst_id"))
    drug_code: Mapped[str] = mapped_column(String(_ID), ForeignKey("drugs.drug_code"))
    kind: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(128))
    shortage_id: Mapped[int | None] = mapped_column(Integer)


class ShortageRow(Base):
    """缺药登记 / a shortage a clinic registers, and the central pharmacy's dispatch to delivery."""

    __tablename__ = "drug_shortages"
    __table_args__ = (
        CheckConstraint(f"status IN ({_STATUSES})", name="status"),
        CheckConstraint("quantity > 0", name="quantity"),
        Index(None, "inst_id", "status"),
        Index(None, "status", "registered_at"),
    )

    shortage_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inst_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("institutions.inst_id"))
    drug_code: Mapped[str] = mapped_column(String(_ID), ForeignKey("drugs.drug_code"))
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    registered_at: Mapped[datetime] = mapped_column(DateTime)
    registered_by: Mapped[str] = mapped_column(String(128))
    from_inst_id: Mapped[str | None] = mapped_column(String(_ID), ForeignKey("institutions.inst_id"))
    tracking: Mapped[str | None] = mapped_column(String(200))
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class PrescriptionRow(Base):
    """处方 / a prescription written at one member, dispensable at any member of the same consortium (written ->
    dispensed, once; or cancelled by the writing institution)."""

    __tablename__ = "prescriptions"
    __table_args__ = (
        CheckConstraint("status IN ('written', 'dispensed', 'cancelled')", name="status"),
        Index(None, "written_inst_id", "written_at"),
        Index(None, "consortium_id", "status"),
        Index(None, "person_id"),
    )

    rx_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("persons.person_id"))
    consortium_id: Mapped[str] = mapped_column(String(_ID))
    written_inst_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("institutions.inst_id"))
    written_by: Mapped[str] = mapped_column(String(128))
    written_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    dispensed_inst_id: Mapped[str | None] = mapped_column(String(_ID), ForeignKey("institutions.inst_id"))
    dispensed_by: Mapped[str | None] = mapped_column(String(128))
    dispensed_at: Mapped[datetime | None] = mapped_column(DateTime)


class PrescriptionLineRow(Base):
    """处方明细 / one drug of a prescription and its quantity in smallest units."""

    __tablename__ = "prescription_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity"),)

    rx_id: Mapped[int] = mapped_column(Integer, ForeignKey("prescriptions.rx_id"), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    drug_code: Mapped[str] = mapped_column(String(_ID), ForeignKey("drugs.drug_code"))
    quantity: Mapped[int] = mapped_column(Integer)


class PharmacyRepository:
    """Drugs, stock, moves and shortages."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def institution(self, inst_id: str) -> InstitutionRow | None:
        return self.session.get(InstitutionRow, inst_id)

    def drug(self, drug_code: str) -> DrugRow | None:
        return self.session.get(DrugRow, drug_code)

    def drugs(self) -> list[DrugRow]:
        return list(self.session.scalars(select(DrugRow).order_by(DrugRow.drug_code)))

    def put_drug(self, row: DrugRow) -> None:
        self.session.merge(row)
        self.session.flush()

    def _ensure_stock(self, inst_id: str, drug_code: str) -> None:
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        self.session.execute(insert(StockRow).values(inst_id=inst_id, drug_code=drug_code, on_hand=0)
                             .on_conflict_do_nothing())

    def add_stock(self, inst_id: str, drug_code: str, quantity: int) -> None:
        """Receive ``quantity`` (> 0): one UPDATE, the row created first when it is missing."""
        self._ensure_stock(inst_id, drug_code)
        self.session.execute(update(StockRow).where(StockRow.inst_id == inst_id, StockRow.drug_code == drug_code)
                             .values(on_hand=StockRow.on_hand + quantity).execution_options(synchronize_session=False))

    def take_stock(self, inst_id: str, drug_code: str, quantity: int) -> bool:
        """Take ``quantity`` (> 0) with ONE conditional UPDATE; False when fewer are on hand."""
        result = self.session.execute(
            update(StockRow).where(StockRow.inst_id == inst_id, StockRow.drug_code == drug_code,
                                   StockRow.on_hand >= quantity)
            .values(on_hand=StockRow.on_hand - quantity).execution_options(synchronize_session=False))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def on_hand(self, inst_id: str, drug_code: str) -> int:
        value = self.session.scalar(select(StockRow.on_hand).where(StockRow.inst_id == inst_id,
                                                                    StockRow.drug_code == drug_code))
        return int(value or 0)

    def stock_of(self, inst_id: str) -> list[tuple[StockRow, DrugRow]]:
        rows = self.session.execute(select(StockRow, DrugRow).join(DrugRow, DrugRow.drug_code == StockRow.drug_code)
                                    .where(StockRow.inst_id == inst_id).order_by(StockRow.drug_code))
        return [(s, d) for s, d in rows]

    def stock_of_many(self, inst_ids: list[str]) -> list[tuple[str, str, int, str]]:
        """(inst_id, drug_code, on_hand, generic_name) of several institutions' stock lines in one query (plain
        columns, no objects: the alert list of a consortium reads thousands)."""
        rows = self.session.execute(select(StockRow.inst_id, StockRow.drug_code, StockRow.on_hand,
                                           DrugRow.generic_name)
                                    .join(DrugRow, DrugRow.drug_code == StockRow.drug_code)
                                    .where(StockRow.inst_id.in_(inst_ids)))
        return [(str(i), str(c), int(n), str(g)) for i, c, n, g in rows]

    def issued_since_many(self, inst_ids: list[str], since: datetime) -> dict[tuple[str, str], int]:
        """Units issued per (institution, drug) since ``since``, for several institutions in one query."""
        rows = self.session.execute(
            select(StockMoveRow.inst_id, StockMoveRow.drug_code, func.sum(StockMoveRow.quantity))
            .where(StockMoveRow.inst_id.in_(inst_ids), StockMoveRow.kind == "issue", StockMoveRow.at >= since)
            .group_by(StockMoveRow.inst_id, StockMoveRow.drug_code))
        return {(str(i), str(code)): int(n or 0) for i, code, n in rows}

    def add_move(self, row: StockMoveRow) -> None:
        self.session.add(row)
        self.session.flush()

    def issued_since(self, inst_id: str, since: datetime) -> dict[str, int]:
        """Units issued per drug since ``since`` (the usage the alerts read)."""
        rows = self.session.execute(
            select(StockMoveRow.drug_code, func.sum(StockMoveRow.quantity))
            .where(StockMoveRow.inst_id == inst_id, StockMoveRow.kind == "issue", StockMoveRow.at >= since)
            .group_by(StockMoveRow.drug_code))
        return {str(code): int(n or 0) for code, n in rows}

    def add_shortage(self, row: ShortageRow) -> ShortageRow:
        self.session.add(row)
        self.session.flush()
        return row

    def shortage(self, shortage_id: int) -> ShortageRow | None:
        return self.session.get(ShortageRow, shortage_id)

    def move_shortage(self, shortage_id: int, *, from_status: str, to_status: str, **values: object) -> bool:
        result = self.session.execute(
            update(ShortageRow).where(ShortageRow.shortage_id == shortage_id, ShortageRow.status == from_status)
            .values(status=to_status, **values).execution_options(synchronize_session=False))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def shortages(self, inst_ids: list[str] | None, *, open_only: bool = False) -> list[ShortageRow]:
        stmt = select(ShortageRow)
        if inst_ids is not None:
            stmt = stmt.where(ShortageRow.inst_id.in_(inst_ids))
        if open_only:
            stmt = stmt.where(ShortageRow.status.in_([ShortageStatus.REGISTERED.value,
                                                      ShortageStatus.DISPATCHED.value]))
        return list(self.session.scalars(stmt.order_by(ShortageRow.registered_at, ShortageRow.shortage_id)))

    def institutions_of(self, consortium_id: str) -> list[str]:
        return list(self.session.scalars(select(InstitutionRow.inst_id)
                                         .where(InstitutionRow.consortium_id == consortium_id)))


    def moves(self, inst_id: str, *, limit: int = 200) -> list[tuple[StockMoveRow, str, str]]:
        """An institution's latest stock moves, newest first, with each drug's generic name and unit."""
        rows = self.session.execute(select(StockMoveRow, DrugRow.generic_name, DrugRow.unit)
                                    .join(DrugRow, DrugRow.drug_code == StockMoveRow.drug_code)
                                    .where(StockMoveRow.inst_id == inst_id)
                                    .order_by(StockMoveRow.at.desc(), StockMoveRow.move_id.desc()).limit(limit))
        return [(m, str(g), str(u)) for m, g, u in rows]

    def add_prescription(self, row: PrescriptionRow, lines: list[PrescriptionLineRow]) -> PrescriptionRow:
        self.session.add(row)
        self.session.flush()
        for n, line in enumerate(lines, start=1):
            line.rx_id, line.line_no = row.rx_id, n
            self.session.add(line)
        self.session.flush()
        return row

    def prescription(self, rx_id: int) -> PrescriptionRow | None:
        return self.session.get(PrescriptionRow, rx_id)

    def prescription_lines(self, rx_ids: list[int]) -> list[PrescriptionLineRow]:
        return list(self.session.scalars(select(PrescriptionLineRow).where(PrescriptionLineRow.rx_id.in_(rx_ids))
                                         .order_by(PrescriptionLineRow.rx_id, PrescriptionLineRow.line_no)))

    def move_prescription(self, rx_id: int, *, from_status: str, to_status: str, **values: object) -> bool:
        """One conditional UPDATE (``WHERE status = from_status``): of two dispensers at once only one moves it."""
        result = self.session.execute(
            update(PrescriptionRow).where(PrescriptionRow.rx_id == rx_id, PrescriptionRow.status == from_status)
            .values(status=to_status, **values).execution_options(synchronize_session=False))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def prescriptions(self, *, consortium_id: str | None, inst_id: str | None, since: datetime,
                      limit: int = 500) -> list[PrescriptionRow]:
        """Prescriptions written at ``inst_id`` or dispensed there since ``since``, and the consortium's open ones
        (``consortium_id``), newest first."""
        cond = []
        if inst_id is not None:
            cond.append(((PrescriptionRow.written_inst_id == inst_id) | (PrescriptionRow.dispensed_inst_id == inst_id))
                        & (PrescriptionRow.written_at >= since))
        if consortium_id is not None:
            cond.append((PrescriptionRow.consortium_id == consortium_id) & (PrescriptionRow.status == "written"))
        if not cond:
            return []
        where = cond[0] if len(cond) == 1 else cond[0] | cond[1]
        return list(self.session.scalars(select(PrescriptionRow).where(where)
                                         .order_by(PrescriptionRow.written_at.desc(), PrescriptionRow.rx_id.desc())
                                         .limit(limit)))

    def person_exists(self, person_id: str) -> bool:
        return self.session.scalar(select(PersonRow.person_id).where(PersonRow.person_id == person_id)) is not None
