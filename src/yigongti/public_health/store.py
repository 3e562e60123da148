"""Report-card tables (传染病报告卡数据表) and their repository: the cards and each diagnosis that opened or joined one.

A claim is imported at most once (a unique index on the diagnosis's ``source_id``, the claim id); diagnoses of one
person are recorded one at a time (the person's row is locked), so two at once join one card; a card moves by a
conditional UPDATE (``WHERE status = 'pending'``), so two submissions at once cannot both succeed. Times are China
time (UTC+8) without a zone, as everywhere in yigongti.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from yigongti.core.db import ID_LENGTH as _ID
from yigongti.core.db import Base
from yigongti.enrollment.store import PersonRow
from yigongti.public_health.domain import CardStatus
from yigongti.registry.store import InstitutionRow

__all__ = ["CardRow", "CardsRepository", "ClusterReportRow", "DiagnosisRow", "FoodborneCardRow", "FoodborneClaimRow",
           "ReadinessRepository", "StockpileRow", "SurveillanceCountRow"]

_STATUSES = ", ".join(repr(s.value) for s in CardStatus)


class CardRow(Base):
    """传染病报告卡 / a report card: the person, the disease, the first diagnosis (where, when) and the legal deadline;
    ``latest_at`` the latest diagnosis that joined it (the episode window runs from there)."""

    __tablename__ = "infectious_cards"
    __table_args__ = (
        CheckConstraint(f"status IN ({_STATUSES})", name="status"),
        CheckConstraint("disease_class IN ('A', 'B', 'C')", name="disease_class"),
        CheckConstraint("diagnoses >= 1", name="diagnoses"),
        Index(None, "person_id", "disease_code", "diagnosed_at"),
        Index(None, "status", "deadline"),
        Index(None, "inst_id", "diagnosed_at"),
    )

    card_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("persons.person_id"))
    inst_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("institutions.inst_id"))
    disease_code: Mapped[str] = mapped_column(String(64))
    disease_class: Mapped[str] = mapped_column(String(1))
    icd10: Mapped[str] = mapped_column(String(16))
    diagnosed_at: Mapped[datetime] = mapped_column(DateTime)
    latest_at: Mapped[datetime] = mapped_column(DateTime)
    deadline: Mapped[datetime] = mapped_column(DateTime)
    diagnoses: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(128))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)
    submitted_by: Mapped[str | None] = mapped_column(String(128))
    void_reason: Mapped[str | None] = mapped_column(Text)


_WITH_SOURCE = "source_id IS NOT NULL"


class DiagnosisRow(Base):
    """一次诊断 / a diagnosis of a notifiable disease recorded at a member or found in an imported claim
    (``source_id``: the claim id), and the card it opened or joined (append-only)."""

    __tablename__ = "infectious_diagnoses"
    __table_args__ = (
        Index("uq_infectious_diagnoses_source", "source_id", unique=True,
              sqlite_where=text(_WITH_SOURCE), postgresql_where=text(_WITH_SOURCE)),
    )

    diagnosis_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    card_id: Mapped[int] = mapped_column(Integer, ForeignKey("infectious_cards.card_id"), index=True)
    person_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("persons.person_id"))
    inst_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("institutions.inst_id"))
    icd10: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime)
    source_id: Mapped[str | None] = mapped_column(String(_ID))
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    recorded_by: Mapped[str] = mapped_column(String(128))


class FoodborneCardRow(Base):
    """食源性疾病病例报告 / a food-borne case report: the person, the kind of case, where and when diagnosed, the
    deadline, and its report (one card per diagnosis; status as the infectious cards'); the exposure as the doctor
    recorded it (onset, place of eating, suspected food), from which the clusters are computed."""

    __tablename__ = "foodborne_cards"
    __table_args__ = (
        CheckConstraint(f"status IN ({_STATUSES})", name="status"),
        Index(None, "status", "deadline"),
        Index(None, "inst_id", "diagnosed_at"),
    )

    card_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("persons.person_id"))
    inst_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("institutions.inst_id"))
    case_code: Mapped[str] = mapped_column(String(64))
    icd10: Mapped[str] = mapped_column(String(16))
    diagnosed_at: Mapped[datetime] = mapped_column(DateTime)
    deadline: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(128))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)
    submitted_by: Mapped[str | None] = mapped_column(String(128))
    void_reason: Mapped[str | None] = mapped_column(Text)
    onset_at: Mapped[datetime | None] = mapped_column(DateTime)
    exposure_place: Mapped[str | None] = mapped_column(String(200))
    suspected_food: Mapped[str | None] = mapped_column(String(200))


class FoodborneClaimRow(Base):
    """理赔中的食源性疾病诊断 / an imported claim whose diagnosis is on the food-borne list, and the case report it
    opened or joined (``source_id`` the claim id, unique: importing the same claims again creates nothing new;
    append-only). The latest ``at`` of a report's claims is where its episode window runs from."""

    __tablename__ = "foodborne_claims"
    __table_args__ = (Index(None, "card_id", "at"),)

    claim_row_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_id: Mapped[str] = mapped_column(String(_ID), unique=True)
    card_id: Mapped[int] = mapped_column(Integer, ForeignKey("foodborne_cards.card_id"))
    person_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("persons.person_id"))
    inst_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("institutions.inst_id"))
    icd10: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime)
    recorded_at: Mapped[datetime] = mapped_column(DateTime)


class ClusterReportRow(Base):
    """聚集性病例报告 / the report of a food-borne cluster: only the submission is stored (the clusters themselves are
    computed from the cases): the place, the cluster's first case (unique: one report per cluster), the cases it
    covered, its deadline then, who submitted and when."""

    __tablename__ = "foodborne_cluster_reports"

    report_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    place_key: Mapped[str] = mapped_column(String(200))
    first_case_id: Mapped[int] = mapped_column(Integer, ForeignKey("foodborne_cards.card_id"), unique=True)
    case_ids: Mapped[str] = mapped_column(Text)
    cases: Mapped[int] = mapped_column(Integer)
    first_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    deadline: Mapped[datetime] = mapped_column(DateTime)
    submitted_at: Mapped[datetime] = mapped_column(DateTime)
    submitted_by: Mapped[str] = mapped_column(String(128))

    @property
    def covered(self) -> frozenset[int]:
        """The ids of the cases the report covered."""
        return frozenset(int(x) for x in self.case_ids.split(",") if x)


class CardsRepository:
    """Report cards and their diagnoses."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: CardRow) -> CardRow:
        self.session.add(row)
        self.session.flush()
        return row

    def get(self, card_id: int) -> CardRow | None:
        return self.session.get(CardRow, card_id)

    def institution(self, inst_id: str) -> InstitutionRow | None:
        return self.session.get(InstitutionRow, inst_id)

    def lock_person(self, person_id: str) -> bool:
        """Lock the person's row until the transaction ends (PostgreSQL ``FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE``
        already serialises writers), so two diagnoses of one person at once cannot both open a card; False when
        there is no such person."""
        return self.session.scalar(select(PersonRow.person_id).where(PersonRow.person_id == person_id)
                                   .with_for_update()) is not None

    def latest_open(self, person_id: str, disease_code: str, *, not_after: datetime) -> CardRow | None:
        """The person's latest card of the disease (not voided) first diagnosed not after ``not_after``."""
        return self.session.scalar(
            select(CardRow).where(CardRow.person_id == person_id, CardRow.disease_code == disease_code,
                                  CardRow.status != CardStatus.VOIDED.value, CardRow.diagnosed_at <= not_after)
            .order_by(CardRow.diagnosed_at.desc(), CardRow.card_id.desc()).limit(1))

    def join(self, card: CardRow, at: datetime, **first: object) -> None:
        """One more diagnosis joins ``card`` (the count and the latest time move in one UPDATE); ``first``: the new
        first diagnosis (diagnosed_at, inst_id, icd10, deadline) when this one is earlier than the card's."""
        self.session.execute(update(CardRow).where(CardRow.card_id == card.card_id)
                             .values(diagnoses=CardRow.diagnoses + 1, latest_at=max(card.latest_at, at), **first)
                             .execution_options(synchronize_session=False))
        self.session.refresh(card)

    def add_diagnosis(self, row: DiagnosisRow) -> None:
        self.session.add(row)
        self.session.flush()

    def source_known(self, source_id: str) -> bool:
        return self.session.scalar(select(DiagnosisRow.diagnosis_id).where(DiagnosisRow.source_id == source_id)
                                   .limit(1)) is not None

    def move(self, card_id: int, *, to_status: str, **values: object) -> bool:
        """Move a pending card (one conditional UPDATE); False when it is no longer pending."""
        result = self.session.execute(
            update(CardRow).where(CardRow.card_id == card_id, CardRow.status == CardStatus.PENDING.value)
            .values(status=to_status, **values).execution_options(synchronize_session=False))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def cards(self, *, inst_ids: Sequence[str] | None = None, statuses: Sequence[str] | None = None,
              since: datetime | None = None, until: datetime | None = None, limit: int = 2000) -> list[CardRow]:
        """Cards of ``inst_ids`` (None: every institution), earliest deadline first."""
        stmt = select(CardRow)
        if inst_ids is not None:
            stmt = stmt.where(CardRow.inst_id.in_(list(inst_ids)))
        if statuses is not None:
            stmt = stmt.where(CardRow.status.in_(list(statuses)))
        if since is not None:
            stmt = stmt.where(CardRow.diagnosed_at >= since)
        if until is not None:
            stmt = stmt.where(CardRow.diagnosed_at < until)
        return list(self.session.scalars(stmt.order_by(CardRow.deadline, CardRow.card_id).limit(limit)))

    def diagnoses_of(self, card_id: int) -> list[DiagnosisRow]:
        """The diagnoses that opened or joined the card, in time order."""
        return list(self.session.scalars(select(DiagnosisRow).where(DiagnosisRow.card_id == card_id)
                                         .order_by(DiagnosisRow.at, DiagnosisRow.diagnosis_id)))

    def add_foodborne(self, row: FoodborneCardRow) -> FoodborneCardRow:
        self.session.add(row)
        self.session.flush()
        return row

    def foodborne_claim_known(self, source_id: str) -> bool:
        return self.session.scalar(select(FoodborneClaimRow.claim_row_id)
                                   .where(FoodborneClaimRow.source_id == source_id).limit(1)) is not None

    def latest_foodborne(self, person_id: str, case_code: str, *, not_after: datetime) -> FoodborneCardRow | None:
        """The person's latest food-borne report of ``case_code`` (not voided) diagnosed by ``not_after``."""
        return self.session.scalars(
            select(FoodborneCardRow)
            .where(FoodborneCardRow.person_id == person_id, FoodborneCardRow.case_code == case_code,
                   FoodborneCardRow.status != CardStatus.VOIDED.value, FoodborneCardRow.diagnosed_at <= not_after)
            .order_by(FoodborneCardRow.diagnosed_at.desc(), FoodborneCardRow.card_id.desc()).limit(1)).first()

    def foodborne_latest_at(self, card: FoodborneCardRow) -> datetime:
        """The latest diagnosis of a report: its own, or the latest imported claim that joined it."""
        at = self.session.scalar(select(func.max(FoodborneClaimRow.at)).where(FoodborneClaimRow.card_id
                                                                               == card.card_id))
        return max(card.diagnosed_at, at) if at is not None else card.diagnosed_at

    def add_foodborne_claim(self, row: FoodborneClaimRow) -> None:
        self.session.add(row)
        self.session.flush()

    def foodborne(self, card_id: int) -> FoodborneCardRow | None:
        return self.session.get(FoodborneCardRow, card_id)

    def move_foodborne(self, card_id: int, *, to_status: str, **values: object) -> bool:
        """Move a pending food-borne card (one conditional UPDATE); False when it is no longer pending."""
        result = self.session.execute(
            update(FoodborneCardRow)
            .where(FoodborneCardRow.card_id == card_id, FoodborneCardRow.status == CardStatus.PENDING.value)
            .values(status=to_status, **values).execution_options(synchronize_session=False))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def foodborne_cards(self, *, inst_ids: Sequence[str] | None, since: datetime,
                        limit: int = 5000) -> list[FoodborneCardRow]:
        """Food-borne cards of ``inst_ids`` (None: every institution) diagnosed since ``since``, or still pending."""
        stmt = select(FoodborneCardRow).where((FoodborneCardRow.diagnosed_at >= since)
                                              | (FoodborneCardRow.status == CardStatus.PENDING.value))
        if inst_ids is not None:
            stmt = stmt.where(FoodborneCardRow.inst_id.in_(list(inst_ids)))
        return list(self.session.scalars(stmt.order_by(FoodborneCardRow.deadline, FoodborneCardRow.card_id)
                                          .limit(limit)))

    def foodborne_states(self, *, inst_ids: Sequence[str] | None, since: datetime,
                         until: datetime) -> list[tuple[str, str, datetime, datetime | None]]:
        """(inst_id, status, deadline, submitted_at) of the food-borne cards diagnosed from ``since`` to before
        ``until`` (plain columns)."""
        stmt = select(FoodborneCardRow.inst_id, FoodborneCardRow.status, FoodborneCardRow.deadline,
                      FoodborneCardRow.submitted_at).where(FoodborneCardRow.diagnosed_at >= since,
                                                           FoodborneCardRow.diagnosed_at < until)
        if inst_ids is not None:
            stmt = stmt.where(FoodborneCardRow.inst_id.in_(list(inst_ids)))
        return [(str(i), str(st), d, sub) for i, st, d, sub in self.session.execute(stmt)]

    def cluster_cases(self, since: datetime) -> list[tuple[int, str, str, datetime | None, datetime, str]]:
        """(card_id, inst_id, exposure_place, onset_at, diagnosed_at, status) of every food-borne case with an
        exposure place diagnosed since ``since`` (plain columns; every institution: a cluster crosses members)."""
        stmt = select(FoodborneCardRow.card_id, FoodborneCardRow.inst_id, FoodborneCardRow.exposure_place,
                      FoodborneCardRow.onset_at, FoodborneCardRow.diagnosed_at, FoodborneCardRow.status) \
            .where(FoodborneCardRow.diagnosed_at >= since, FoodborneCardRow.exposure_place.is_not(None))
        return [(int(i), str(n), str(k), o, d, str(st)) for i, n, k, o, d, st in self.session.execute(stmt)]

    def foodborne_many(self, card_ids: Sequence[int]) -> list[FoodborneCardRow]:
        return list(self.session.scalars(select(FoodborneCardRow).where(FoodborneCardRow.card_id.in_(list(card_ids)))
                                         .order_by(FoodborneCardRow.card_id)))

    def cluster_reports(self, since: datetime) -> list[ClusterReportRow]:
        return list(self.session.scalars(select(ClusterReportRow).where(ClusterReportRow.first_at >= since)))

    def add_cluster_report(self, row: ClusterReportRow) -> ClusterReportRow:
        self.session.add(row)
        self.session.flush()
        return row

    def institutions_of(self, consortium_id: str) -> list[str]:
        return list(self.session.scalars(select(InstitutionRow.inst_id)
                                         .where(InstitutionRow.consortium_id == consortium_id)))

    def names(self, inst_ids: Sequence[str]) -> dict[str, str]:
        rows = self.session.execute(select(InstitutionRow.inst_id, InstitutionRow.name)
                                    .where(InstitutionRow.inst_id.in_(list(inst_ids))))
        return {str(i): str(n) for i, n in rows}


class SurveillanceCountRow(Base):
    """症状监测周报 / the cases of a syndrome a site (a member's fever clinic or sentinel site) saw in one week (its
    Monday); recorded again, the week's count is replaced (idempotent)."""

    __tablename__ = "surveillance_counts"
    __table_args__ = (CheckConstraint("cases >= 0", name="cases"),
                      CheckConstraint("site_kind IN ('fever_clinic', 'sentinel')", name="site_kind"),
                      Index(None, "week"))

    inst_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("institutions.inst_id"), primary_key=True)
    site_kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    syndrome: Mapped[str] = mapped_column(String(32), primary_key=True)
    week: Mapped[date] = mapped_column(Date, primary_key=True)
    cases: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    recorded_by: Mapped[str] = mapped_column(String(128))


class StockpileRow(Base):
    """应急物资储备 / one line of an institution's emergency stockpile: an item, its batch's expiry, the quantity on
    hand and the minimum to keep."""

    __tablename__ = "emergency_stockpile"
    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity"),
                      CheckConstraint("minimum >= 0", name="minimum"),
                      UniqueConstraint("inst_id", "item_code", "batch"), Index(None, "expires_on"))

    line_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inst_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("institutions.inst_id"))
    item_code: Mapped[str] = mapped_column(String(_ID))
    item_name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str] = mapped_column(String(16))
    batch: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer)
    minimum: Mapped[int] = mapped_column(Integer)
    expires_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    updated_by: Mapped[str] = mapped_column(String(128))


class ReadinessRepository:
    """Surveillance counts and the emergency stockpile (监测与应急储备)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def institution(self, inst_id: str) -> InstitutionRow | None:
        return self.session.get(InstitutionRow, inst_id)

    def institutions_of(self, consortium_id: str) -> list[str]:
        return list(self.session.scalars(select(InstitutionRow.inst_id)
                                         .where(InstitutionRow.consortium_id == consortium_id)))

    def put_count(self, *, inst_id: str, site_kind: str, syndrome: str, week: date, cases: int, at: datetime,
                  by: str) -> None:
        """Insert or replace a week's count in ONE statement (``ON CONFLICT DO UPDATE``): two recordings of the same
        week at once leave the later one, never a duplicate-key error."""
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = insert(SurveillanceCountRow).values(inst_id=inst_id, site_kind=site_kind, syndrome=syndrome, week=week,
                                                   cases=cases, recorded_at=at, recorded_by=by)
        self.session.execute(stmt.on_conflict_do_update(
            index_elements=["inst_id", "site_kind", "syndrome", "week"],
            set_={"cases": stmt.excluded.cases, "recorded_at": stmt.excluded.recorded_at,
                  "recorded_by": stmt.excluded.recorded_by}))

    def counts(self, inst_ids: Sequence[str] | None, since: date, until: date) -> list[tuple[str, str, str, date, int]]:
        """(inst_id, site_kind, syndrome, week, cases) of the weeks from ``since`` to ``until`` (plain columns)."""
        stmt = select(SurveillanceCountRow.inst_id, SurveillanceCountRow.site_kind, SurveillanceCountRow.syndrome,
                      SurveillanceCountRow.week, SurveillanceCountRow.cases) \
            .where(SurveillanceCountRow.week >= since, SurveillanceCountRow.week <= until)
        if inst_ids is not None:
            stmt = stmt.where(SurveillanceCountRow.inst_id.in_(list(inst_ids)))
        return [(str(i), str(k), str(s), w, int(c)) for i, k, s, w, c in self.session.execute(stmt)]

    def stock_line(self, inst_id: str, item_code: str, batch: str) -> StockpileRow | None:
        return self.session.scalar(select(StockpileRow).where(StockpileRow.inst_id == inst_id,
                                                              StockpileRow.item_code == item_code,
                                                              StockpileRow.batch == batch))

    def add_stock_line(self, row: StockpileRow) -> None:
        self.session.add(row)
        self.session.flush()

    def stockpile(self, inst_ids: Sequence[str] | None) -> list[StockpileRow]:
        stmt = select(StockpileRow)
        if inst_ids is not None:
            stmt = stmt.where(StockpileRow.inst_id.in_(list(inst_ids)))
        return list(self.session.scalars(stmt.order_by(StockpileRow.inst_id, StockpileRow.item_code,
                                                       StockpileRow.expires_on)))
