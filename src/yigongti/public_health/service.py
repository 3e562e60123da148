"""Public-health use cases (传染病报告用例), one transaction each: record a diagnosis (it opens or joins a report card),
import a year's claims, submit or void a card, the public-health staff's alert list, timeliness per institution.

Who may do what:

- a clinician of the institution records a diagnosis there (the adapter has checked the person is in their scope);
- a clinician or the admin of the card's institution, or the consortium's public-health staff (``consortium_admin``
  of its consortium), submits or voids a card;
- the alert list and the timeliness counts: the consortium admin (their consortium's institutions), the health
  commission (every institution), an institution admin (their own institution);
- anyone else is told the card does not exist (:class:`NotFound`, 404).

Every change and every list of persons shown writes the audit log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from yigongti.core.policy import PublicHealthPolicy
from yigongti.core.problems import InvalidRequest, NotAllowed, NotFound
from yigongti.platform.accounts import Principal, Role
from yigongti.platform.audit import actor_of
from yigongti.public_health.domain import (
    SITE_KINDS,
    CardStatus,
    Catalogue,
    ClusterCase,
    FoodborneCluster,
    FoodborneList,
    InstitutionTally,
    Timeliness,
    WeekThreshold,
    deadline_of,
    find_clusters,
    is_warning,
    joins_episode,
    normalize_icd,
    place_key,
    stock_flags,
    tally,
    timeliness,
    week_start,
    week_threshold,
)
from yigongti.public_health.engine import load_catalogue, load_foodborne
from yigongti.public_health.store import (
    CardRow,
    ClusterReportRow,
    DiagnosisRow,
    FoodborneCardRow,
    FoodborneClaimRow,
    StockpileRow,
)
from yigongti.public_health.uow import PublicHealthUnitOfWork

__all__ = [
    "Alert",
    "CLUSTER_DAYS",
    "CardView",
    "ClusterItem",
    "Exposure",
    "check_exposure",
    "foodborne_clusters",
    "recent_places",
    "submit_cluster",
    "FoodborneItem",
    "ImportSummary",
    "InvalidRequest",
    "NotAllowed",
    "NotFound",
    "Recorded",
    "StockpileLine",
    "SurveillanceWeek",
    "put_stockpile",
    "record_surveillance",
    "stockpile",
    "surveillance",
    "alerts",
    "card_view",
    "institution_cards",
    "catalogue_for",
    "foodborne_cases",
    "foodborne_list",
    "record_foodborne",
    "submit_foodborne",
    "import_claims",
    "import_foodborne_claims",
    "record_diagnosis",
    "submit_card",
    "timeliness_by_institution",
    "void_card",
]





_catalogues: dict[tuple[str, str], Catalogue] = {}


def catalogue_for(policy: PublicHealthPolicy, base: Path | None = None) -> Catalogue:
    """The disease list of the policy, read once per process."""
    key = (policy.diseases, str(base))
    if key not in _catalogues:
        _catalogues[key] = load_catalogue(policy, base)
    return _catalogues[key]


_foodborne: list[FoodborneList] = []


def foodborne_cases() -> FoodborneList:
    """The food-borne case list shipped with yigongti, read once per process."""
    if not _foodborne:
        _foodborne.append(load_foodborne())
    return _foodborne[0]


@dataclass(frozen=True)
class Recorded:
    """What recording a diagnosis did: no card (not notifiable), a new card, or joined an existing one."""

    card_id: int | None
    disease_code: str | None
    joined: bool = False
    deadline: datetime | None = None


def _record(uow: PublicHealthUnitOfWork, catalogue: Catalogue, policy: PublicHealthPolicy, *, person_id: str,
            inst_id: str, icd10: str, at: datetime, now: datetime, actor: str, source_id: str | None) -> Recorded:
    disease = catalogue.match(icd10)
    if disease is None:
        return Recorded(None, None)
    uow.cards.lock_person(person_id)
    reach = at + timedelta(days=policy.episode_days) if policy.episode_days else datetime.combine(at.date(), time.max)
    card = uow.cards.latest_open(person_id, disease.code, not_after=reach)
    deadline = deadline_of(disease, at, class_a_hours=policy.class_a_hours, other_hours=policy.other_hours)
    joined = False
    if card is not None and at >= card.diagnosed_at:  # within the card's span, or its window after the latest
        joined = at <= card.latest_at or joins_episode(card.latest_at, at, policy.episode_days)
        if joined:
            uow.cards.join(card, at)
    elif card is not None and joins_episode(at, card.diagnosed_at, policy.episode_days):
        joined = True  # an earlier diagnosis recorded late: it becomes the card's first (and its deadline)
        first = {"diagnosed_at": at, "inst_id": inst_id, "icd10": normalize_icd(icd10), "deadline": deadline} \
            if card.status == CardStatus.PENDING else {}
        uow.cards.join(card, at, **first)
    if card is None or not joined:
        card = uow.cards.add(CardRow(
            person_id=person_id, inst_id=inst_id, disease_code=disease.code, disease_class=disease.cls.value,
            icd10=normalize_icd(icd10), diagnosed_at=at, latest_at=at, diagnoses=1, deadline=deadline,
            status=CardStatus.PENDING.value, created_at=now, created_by=actor))
    uow.cards.add_diagnosis(DiagnosisRow(card_id=card.card_id, person_id=person_id, inst_id=inst_id,
                                         icd10=normalize_icd(icd10), at=at, source_id=source_id, recorded_at=now,
                                         recorded_by=actor))
    uow.audit.add(actor=actor, action="infectious diagnosis", at=now, person_id=person_id,
                  detail={"card_id": card.card_id, "disease": disease.code, "joined": joined})
    return Recorded(card.card_id, disease.code, joined, card.deadline)


def record_diagnosis(uow: PublicHealthUnitOfWork, principal: Principal, *, person_id: str, inst_id: str, icd10: str,
                     at: datetime, catalogue: Catalogue, policy: PublicHealthPolicy, now: datetime) -> Recorded:
    """A clinician of ``inst_id`` records a diagnosis (the workstation's hook): a notifiable one opens a report card
    with its deadline, or joins the person's card of the same disease within the episode window."""
    if principal.role is not Role.CLINICIAN or principal.inst_id != inst_id:
        raise NotAllowed("仅本机构医生可登记诊断 / only a clinician of inst_id records a diagnosis")
    if not normalize_icd(icd10):
        raise InvalidRequest("icd10", "is empty / 诊断编码为空")
    if at > now:
        raise InvalidRequest("diagnosed_at", "is in the future / 诊断时间晚于当前时间")
    with uow:
        if uow.persons.get(person_id) is None:
            raise NotFound(f"参保人 {person_id} 不存在 / no person {person_id}")
        if uow.cards.institution(inst_id) is None:
            raise InvalidRequest("inst_id", f"no institution {inst_id} / 机构不存在")
        result = _record(uow, catalogue, policy, person_id=person_id, inst_id=inst_id, icd10=icd10, at=at,
                         now=now, actor=actor_of(principal), source_id=None)
        uow.commit()
    return result


@dataclass(frozen=True)
class ImportSummary:
    """Claims read, those on the list imported (``matching``: the notifiable list, or the food-borne one), cards
    opened, diagnoses joined, claims already imported (skipped), claims of a person or institution the database does
    not know (unknown: load the data folder first)."""

    claims: int = 0
    matching: int = 0
    opened: int = 0
    joined: int = 0
    skipped: int = 0
    unknown: int = 0


def _claim_at(c: Mapping[str, Any]) -> datetime:
    """A claim's admit date read as its midnight (零时)."""
    d = c["admit_date"]
    return d if isinstance(d, datetime) else datetime.combine(date.fromisoformat(str(d)), time())


def _claims_in_order(claims: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    rows = [c for c in claims if c.get("admit_date") and c.get("diagnosis")]
    rows.sort(key=lambda c: (_claim_at(c), str(c["person_id"]), str(c["inst_id"]), str(c["claim_id"])))
    return rows


def _import(uow: PublicHealthUnitOfWork, claims: Iterable[Mapping[str, Any]], *,
            matches: Callable[[str], bool], imported: Callable[[str], bool],
            record: Callable[[Mapping[str, Any]], bool]) -> ImportSummary:
    """The import loop of both lists: claims in time order; those ``matches`` (the diagnosis) on the list, not yet
    ``imported`` (the claim id), of a known person and institution are recorded (``record`` says whether it joined)."""
    n = matching = opened = joined = skipped = unknown = 0
    known: dict[tuple[str, str], bool] = {}
    with uow:
        for c in _claims_in_order(claims):
            n += 1
            if not matches(str(c["diagnosis"])):
                continue
            matching += 1
            if imported(str(c["claim_id"])):
                skipped += 1
                continue
            key = (str(c["person_id"]), str(c["inst_id"]))
            if key not in known:
                known[key] = uow.persons.get(key[0]) is not None and uow.cards.institution(key[1]) is not None
            if not known[key]:
                unknown += 1
                continue
            j = record(c)
            joined += j
            opened += not j
        uow.commit()
    return ImportSummary(n, matching, opened, joined, skipped, unknown)


def import_claims(uow: PublicHealthUnitOfWork, claims: Iterable[Mapping[str, Any]], *, catalogue: Catalogue,
                  policy: PublicHealthPolicy, now: datetime) -> ImportSummary:
    """Claims (``claim_id, person_id, inst_id, admit_date, diagnosis``) as diagnoses at the admit date's midnight, in
    time order; a claim already imported is skipped (idempotent). The system's move, one transaction."""
    def record(c: Mapping[str, Any]) -> bool:
        return _record(uow, catalogue, policy, person_id=str(c["person_id"]), inst_id=str(c["inst_id"]),
                       icd10=str(c["diagnosis"]), at=_claim_at(c), now=now, actor="system:claims",
                       source_id=str(c["claim_id"])).joined

    return _import(uow, claims, matches=lambda dx: catalogue.match(dx) is not None,
                   imported=lambda cid: uow.cards.source_known(cid), record=record)


def _record_foodborne_claim(uow: PublicHealthUnitOfWork, cases: FoodborneList, policy: PublicHealthPolicy,
                            c: Mapping[str, Any], *, now: datetime) -> bool | None:
    """One imported claim on the food-borne list: it joins the person's report of the same case within the episode
    window (True), else opens a report due ``report_hours`` after the admit date's midnight (False); None: not on
    the list."""
    icd10 = str(c["diagnosis"])
    case = cases.match(icd10)
    if case is None:
        return None
    person_id, inst_id, at = str(c["person_id"]), str(c["inst_id"]), _claim_at(c)
    uow.cards.lock_person(person_id)
    reach = at + timedelta(days=policy.episode_days) if policy.episode_days else datetime.combine(at.date(), time.max)
    card = uow.cards.latest_foodborne(person_id, case.code, not_after=reach)
    joined = False
    if card is not None and at >= card.diagnosed_at:
        latest = uow.cards.foodborne_latest_at(card)
        joined = at <= latest or joins_episode(latest, at, policy.episode_days)
    elif card is not None and joins_episode(at, card.diagnosed_at, policy.episode_days):
        joined = True  # an earlier claim imported late: it becomes the report's first diagnosis (and its deadline)
        if card.status == CardStatus.PENDING:
            card.diagnosed_at, card.inst_id, card.icd10 = at, inst_id, normalize_icd(icd10)
            card.deadline = cases.deadline(at)
    if card is None or not joined:
        card = uow.cards.add_foodborne(FoodborneCardRow(
            person_id=person_id, inst_id=inst_id, case_code=case.code, icd10=normalize_icd(icd10), diagnosed_at=at,
            deadline=cases.deadline(at), status=CardStatus.PENDING.value, created_at=now,
            created_by="system:claims"))
    uow.cards.add_foodborne_claim(FoodborneClaimRow(source_id=str(c["claim_id"]), card_id=card.card_id,
                                                    person_id=person_id, inst_id=inst_id,
                                                    icd10=normalize_icd(icd10), at=at, recorded_at=now))
    uow.audit.add(actor="system:claims", action="foodborne case from claims", at=now, person_id=person_id,
                  detail={"card_id": card.card_id, "case": case.code, "joined": joined})
    return joined


def import_foodborne_claims(uow: PublicHealthUnitOfWork, claims: Iterable[Mapping[str, Any]], *,
                            cases: FoodborneList, policy: PublicHealthPolicy, now: datetime) -> ImportSummary:
    """食源性疾病 / Claims as food-borne diagnoses at the admit date's midnight, in time order (as
    :func:`import_claims`): a claim on the food-borne list opens a case report with its deadline or joins the
    person's report of the same case within the episode window; a claim already imported is skipped (idempotent).
    ``matching`` counts the claims on the food-borne list. The system's move, one transaction."""
    return _import(uow, claims, matches=lambda dx: cases.match(dx) is not None,
                   imported=lambda cid: uow.cards.foodborne_claim_known(cid),
                   record=lambda c: bool(_record_foodborne_claim(uow, cases, policy, c, now=now)))


def _may_handle(uow: PublicHealthUnitOfWork, principal: Principal, card: CardRow | FoodborneCardRow) -> bool:
    if principal.role in (Role.CLINICIAN, Role.INSTITUTION_ADMIN):
        return principal.inst_id == card.inst_id
    if principal.role is Role.CONSORTIUM_ADMIN and principal.consortium_id:
        inst = uow.cards.institution(card.inst_id)
        return inst is not None and inst.consortium_id == principal.consortium_id
    return False


def _card_for(uow: PublicHealthUnitOfWork, principal: Principal, card_id: int) -> CardRow:
    card = uow.cards.get(card_id)
    if card is None or not _may_handle(uow, principal, card):
        raise NotFound(f"报告卡 {card_id} 不存在或无权查看 / no card {card_id} in your scope")
    return card


def submit_card(uow: PublicHealthUnitOfWork, principal: Principal, card_id: int, *, now: datetime) -> Timeliness:
    """Submit a pending card (网络直报): on time when by its deadline, else late. :class:`InvalidRequest` when the
    card is no longer pending."""
    with uow:
        card = _card_for(uow, principal, card_id)
        if not uow.cards.move(card_id, to_status=CardStatus.SUBMITTED.value, submitted_at=now,
                              submitted_by=actor_of(principal)):
            raise InvalidRequest("status", f"card {card_id} is {card.status}, not pending / 报告卡不是待报告状态")
        uow.audit.add(actor=actor_of(principal), action="infectious card submitted", at=now,
                      person_id=card.person_id, detail={"card_id": card_id})
        uow.commit()
    return timeliness(CardStatus.SUBMITTED, card.deadline, now, now)


def void_card(uow: PublicHealthUnitOfWork, principal: Principal, card_id: int, *, reason: str,
              now: datetime) -> None:
    """Void a pending card (订正排除: the diagnosis was revised), with the reason."""
    if not reason.strip():
        raise InvalidRequest("reason", "a voided card needs the reason / 排除须说明原因")
    with uow:
        card = _card_for(uow, principal, card_id)
        if not uow.cards.move(card_id, to_status=CardStatus.VOIDED.value, void_reason=reason,
                              submitted_by=actor_of(principal)):
            raise InvalidRequest("status", f"card {card_id} is {card.status}, not pending / 报告卡不是待报告状态")
        uow.audit.add(actor=actor_of(principal), action="infectious card voided", at=now, person_id=card.person_id,
                      detail={"card_id": card_id})
        uow.commit()


def _institutions(uow: PublicHealthUnitOfWork, principal: Principal) -> list[str] | None:
    """The institutions whose cards the principal oversees (None: every one)."""
    if principal.role is Role.HEALTH_COMMISSION:
        return None
    if principal.role is Role.CONSORTIUM_ADMIN and principal.consortium_id:
        return uow.cards.institutions_of(principal.consortium_id)
    if principal.role is Role.INSTITUTION_ADMIN and principal.inst_id:
        return [principal.inst_id]
    raise NotAllowed("仅公共卫生管理人员可查看 / public-health staff (consortium admin, health commission, "
                     "institution admin) only")


@dataclass(frozen=True)
class Alert:
    """预警 / a card not yet reported: overdue first, then by deadline."""

    card: CardRow
    inst_name: str
    state: Timeliness


def alerts(uow: PublicHealthUnitOfWork, principal: Principal, *, now: datetime) -> list[Alert]:
    """The pending cards the principal oversees, overdue ones first then by deadline (audited: who saw which
    persons' cards)."""
    with uow:
        insts = _institutions(uow, principal)
        cards = uow.cards.cards(inst_ids=insts, statuses=[CardStatus.PENDING.value])
        names = uow.cards.names(sorted({c.inst_id for c in cards}))
        out = [Alert(c, names.get(c.inst_id, ""), timeliness(c.status, c.deadline, c.submitted_at, now))
               for c in cards]
        for c in cards:
            uow.audit.add(actor=actor_of(principal), action="infectious alerts read", at=now, person_id=c.person_id,
                          detail={"card_id": c.card_id})
        uow.commit()
    return sorted(out, key=lambda a: (a.state is not Timeliness.OVERDUE, a.card.deadline, a.card.card_id))


def timeliness_by_institution(uow: PublicHealthUnitOfWork, principal: Principal, *, year: int,
                              now: datetime, foodborne: bool = False) -> list[InstitutionTally]:
    """Per institution the year's cards (``foodborne``: the food-borne case reports): on time, late, missed
    (overdue, not reported), pending, voided."""
    with uow:
        insts = _institutions(uow, principal)
        since, until = datetime(year, 1, 1), datetime(year + 1, 1, 1)
        if foodborne:
            return tally((i, timeliness(st, d, sub, now))
                         for i, st, d, sub in uow.cards.foodborne_states(inst_ids=insts, since=since, until=until))
        cards = uow.cards.cards(inst_ids=insts, since=since, until=until, limit=1_000_000)
        return tally((c.inst_id, timeliness(c.status, c.deadline, c.submitted_at, now)) for c in cards)


@dataclass(frozen=True)
class CardView:
    """一张报告卡 / a card as its page shows it: the card, every diagnosis that opened or joined it, the names of the
    institutions, how it stands, and whether the reader may submit or void it."""

    card: CardRow
    diagnoses: list[DiagnosisRow]
    names: dict[str, str]
    state: Timeliness
    may_handle: bool


def card_view(uow: PublicHealthUnitOfWork, principal: Principal, card_id: int, *, now: datetime) -> CardView:
    """A card from its diagnosis to its submission, for whoever may handle it and for the health commission (who
    oversees every institution, as on the alert list); anyone else is told it does not exist. Audited (the reader
    saw the person's card)."""
    with uow:
        card = uow.cards.get(card_id)
        handle = card is not None and _may_handle(uow, principal, card)
        if card is None or not (handle or principal.role is Role.HEALTH_COMMISSION):
            raise NotFound(f"报告卡 {card_id} 不存在或无权查看 / no card {card_id} in your scope")
        diagnoses = uow.cards.diagnoses_of(card_id)
        names = uow.cards.names(sorted({card.inst_id, *(d.inst_id for d in diagnoses)}))
        uow.audit.add(actor=actor_of(principal), action="infectious card read", at=now, person_id=card.person_id,
                      detail={"card_id": card_id})
        uow.commit()
    return CardView(card, diagnoses, names, timeliness(card.status, card.deadline, card.submitted_at, now),
                    handle and card.status == CardStatus.PENDING.value)


def institution_cards(uow: PublicHealthUnitOfWork, principal: Principal, *, now: datetime,
                      days: int = 30) -> list[Alert]:
    """A clinician's or institution admin's own institution's cards first diagnosed in the last ``days`` days,
    newest first (audited per person)."""
    if principal.role not in (Role.CLINICIAN, Role.INSTITUTION_ADMIN) or not principal.inst_id:
        raise NotAllowed("仅本机构人员可查看 / staff of the institution only")
    with uow:
        cards = uow.cards.cards(inst_ids=[principal.inst_id], since=now - timedelta(days=days), limit=5000)
        name = uow.cards.names([principal.inst_id]).get(principal.inst_id, "")
        for c in cards:
            uow.audit.add(actor=actor_of(principal), action="infectious cards read", at=now, person_id=c.person_id,
                          detail={"card_id": c.card_id})
        uow.commit()
    out = [Alert(c, name, timeliness(c.status, c.deadline, c.submitted_at, now)) for c in cards]
    return sorted(out, key=lambda a: (a.card.diagnosed_at, a.card.card_id), reverse=True)


@dataclass(frozen=True)
class Exposure:
    """可疑暴露 / what the doctor learnt of a food-borne case's exposure: onset (发病时间), place of eating (就餐地点:
    a restaurant, a banquet, a canteen) and the suspected food (可疑食品); each optional. Cases of one place group
    into clusters."""

    onset_at: datetime | None = None
    place: str = ""
    food: str = ""


def check_exposure(exposure: Exposure, at: datetime) -> tuple[str, str]:
    """The place and food with their spaces tidied; :class:`InvalidRequest` for a text over 200 characters or an
    onset not within the 30 days up to the diagnosis at ``at``. The adapters call it before recording anything, so a
    bad exposure refuses the whole diagnosis."""
    place, food = " ".join(exposure.place.split()), " ".join(exposure.food.split())
    if len(place) > 200 or len(food) > 200:
        raise InvalidRequest("exposure_place", "at most 200 characters / 至多 200 个字符")
    if exposure.onset_at is not None and not at - timedelta(days=30) <= exposure.onset_at <= at:
        raise InvalidRequest("onset_at", "between 30 days before the diagnosis and the diagnosis / "
                                         "发病时间须在诊断前 30 天内且不晚于诊断")
    return place, food


def record_foodborne(uow: PublicHealthUnitOfWork, principal: Principal, *, person_id: str, inst_id: str, icd10: str,
                     at: datetime, cases: FoodborneList, now: datetime,
                     exposure: Exposure = Exposure()) -> FoodborneCardRow | None:
    """食源性疾病病例 / A clinician of ``inst_id`` records a diagnosis: one of the food-borne list opens a case report
    due ``report_hours`` after the diagnosis (None: not on the list), with its exposure."""
    if principal.role is not Role.CLINICIAN or principal.inst_id != inst_id:
        raise NotAllowed("仅本机构医生可登记诊断 / only a clinician of inst_id records a diagnosis")
    if at > now:
        raise InvalidRequest("diagnosed_at", "is in the future / 诊断时间晚于当前时间")
    place, food = check_exposure(exposure, at)
    case = cases.match(icd10)
    if case is None:
        return None
    with uow:
        if uow.persons.get(person_id) is None:
            raise NotFound(f"参保人 {person_id} 不存在 / no person {person_id}")
        row = uow.cards.add_foodborne(FoodborneCardRow(
            person_id=person_id, inst_id=inst_id, case_code=case.code, icd10=normalize_icd(icd10), diagnosed_at=at,
            deadline=cases.deadline(at), status=CardStatus.PENDING.value, created_at=now,
            created_by=actor_of(principal), onset_at=exposure.onset_at, exposure_place=place or None,
            suspected_food=food or None))
        uow.audit.add(actor=actor_of(principal), action="foodborne case recorded", at=now, person_id=person_id,
                      detail={"card_id": row.card_id, "case": case.code})
        uow.commit()
    return row


def _foodborne_scope(uow: PublicHealthUnitOfWork, principal: Principal) -> list[str] | None:
    if principal.role is Role.CLINICIAN and principal.inst_id:
        return [principal.inst_id]
    return _institutions(uow, principal)


def submit_foodborne(uow: PublicHealthUnitOfWork, principal: Principal, card_id: int, *, now: datetime) -> Timeliness:
    """Report a pending food-borne case: on time by its deadline, else late (the same people as for the
    infectious cards)."""
    with uow:
        row = uow.cards.foodborne(card_id)
        if row is None or not _may_handle(uow, principal, row):
            raise NotFound(f"病例报告 {card_id} 不存在或无权查看 / no case report {card_id} in your scope")
        if not uow.cards.move_foodborne(card_id, to_status=CardStatus.SUBMITTED.value, submitted_at=now,
                                        submitted_by=actor_of(principal)):
            raise InvalidRequest("status", f"case report {card_id} is {row.status}, not pending / 不是待报告状态")
        uow.audit.add(actor=actor_of(principal), action="foodborne case submitted", at=now, person_id=row.person_id,
                      detail={"card_id": card_id})
        uow.commit()
    return timeliness(CardStatus.SUBMITTED, row.deadline, now, now)


@dataclass(frozen=True)
class FoodborneItem:
    """A food-borne case report on the list, with how it stands and whether the reader may report it."""

    card: FoodborneCardRow
    state: Timeliness
    may_handle: bool


def foodborne_list(uow: PublicHealthUnitOfWork, principal: Principal, *, now: datetime,
                   days: int = 365) -> list[FoodborneItem]:
    """The food-borne case reports the principal oversees (a clinician: their institution) of the last ``days``
    days and every pending one, pending first (overdue first), then newest first. Audited per person."""
    with uow:
        insts = _foodborne_scope(uow, principal)
        rows = uow.cards.foodborne_cards(inst_ids=insts, since=now - timedelta(days=days))
        out = [FoodborneItem(r, timeliness(r.status, r.deadline, r.submitted_at, now),
                             r.status == CardStatus.PENDING.value and _may_handle(uow, principal, r))
               for r in rows]
        for r in rows:
            uow.audit.add(actor=actor_of(principal), action="foodborne cases read", at=now, person_id=r.person_id,
                          detail={"card_id": r.card_id})
        uow.commit()
    pending = (Timeliness.OVERDUE, Timeliness.PENDING)

    def order(i: FoodborneItem) -> tuple[bool, bool, float, int]:
        when = i.card.deadline.timestamp() if i.state in pending else -i.card.diagnosed_at.timestamp()
        return (i.state not in pending, i.state is not Timeliness.OVERDUE, when, i.card.card_id)

    return sorted(out, key=order)


# --- Food-borne clusters (食源性聚集性病例): computed from the cases, only the reports stored ---


@dataclass(frozen=True)
class ClusterItem:
    """A cluster as the reader sees it: the computed cluster, the place as first typed, its cases in the reader's
    scope (rows) and in all, the institutions and suspected foods, its report if any, how it stands against its
    deadline (a report's own deadline when reported), cases recorded after the report, and whether the reader may
    report it."""

    cluster: FoodborneCluster
    place: str
    cases: list[FoodborneCardRow]
    total: int
    inst_ids: tuple[str, ...]
    foods: tuple[str, ...]
    report: ClusterReportRow | None
    state: Timeliness
    new_since_report: int
    may_submit: bool

    @property
    def deadline(self) -> datetime:
        return self.report.deadline if self.report is not None else self.cluster.deadline


CLUSTER_DAYS = 365
"""Clusters are computed from the cases of the last this many days (the page shows a year)."""


def _clusters(uow: PublicHealthUnitOfWork, policy: PublicHealthPolicy, now: datetime,
              days: int) -> tuple[list[FoodborneCluster], dict[int, tuple[str, str]], list[ClusterReportRow]]:
    since = now - timedelta(days=days)
    rows = uow.cards.cluster_cases(since)
    cases = [ClusterCase(i, place_key(place), onset if onset is not None else dx, dx)
             for i, _, place, onset, dx, st in rows if st != CardStatus.VOIDED.value]
    clusters = find_clusters(cases, min_cases=policy.foodborne_cluster_min_cases,
                             window_hours=policy.foodborne_cluster_window_hours,
                             report_hours=policy.foodborne_cluster_report_hours)
    where = {i: (inst, place) for i, inst, place, _, _, _ in rows}
    return clusters, where, uow.cards.cluster_reports(since - timedelta(hours=policy.foodborne_cluster_window_hours))


def _report_of(cluster: FoodborneCluster, reports: list[ClusterReportRow]) -> ClusterReportRow | None:
    """The report of the cluster: of its place, covering one of its cases (a case recorded later does not make it
    another cluster)."""
    ids = set(cluster.case_ids)
    return next((r for r in reports if r.place_key == cluster.place and r.covered & ids), None)


def _may_submit(principal: Principal, insts: Iterable[str], consortium_of: Mapping[str, str | None]) -> bool:
    """The consortium's public-health staff (consortium admin) of any institution of the cluster."""
    return principal.role is Role.CONSORTIUM_ADMIN and bool(principal.consortium_id) and any(
        consortium_of.get(i) == principal.consortium_id for i in insts)


def foodborne_clusters(uow: PublicHealthUnitOfWork, principal: Principal, *, policy: PublicHealthPolicy,
                       now: datetime, days: int = CLUSTER_DAYS, pending_only: bool = False) -> list[ClusterItem]:
    """聚集性病例 / The food-borne clusters of the last ``days`` days with a case in the reader's scope (a clinician
    or institution admin: their institution; the consortium admin: their consortium; the health commission: all),
    computed from every member's cases (a cluster crosses members): not reported first (overdue first, then by
    deadline), then the newest. Only the cases in scope are listed (audited per person)."""
    with uow:
        scope = _foodborne_scope(uow, principal)
        clusters, where, reports = _clusters(uow, policy, now, days)
        seen = [k for k in clusters if scope is None or any(where[i][0] in scope for i in k.case_ids)]
        insts = sorted({where[i][0] for k in seen for i in k.case_ids})
        consortium_of = {i: row.consortium_id for i in insts if (row := uow.cards.institution(i)) is not None}
        rows = {r.card_id: r for r in uow.cards.foodborne_many(
            [i for k in seen for i in k.case_ids if scope is None or where[i][0] in scope])}
        out: list[ClusterItem] = []
        for k in seen:
            report = _report_of(k, reports)
            if pending_only and report is not None:
                continue
            k_insts = tuple(sorted({where[i][0] for i in k.case_ids}))
            mine = [rows[i] for i in k.case_ids if i in rows]
            state = timeliness(CardStatus.SUBMITTED if report else CardStatus.PENDING,
                               report.deadline if report else k.deadline,
                               report.submitted_at if report else None, now)
            foods = tuple(dict.fromkeys(r.suspected_food for r in mine if r.suspected_food))
            out.append(ClusterItem(k, where[k.cluster_id][1], mine, len(k.case_ids), k_insts, foods, report, state,
                                   len(set(k.case_ids) - report.covered) if report else 0,
                                   report is None and _may_submit(principal, k_insts, consortium_of)))
            for r in mine:
                uow.audit.add(actor=actor_of(principal), action="foodborne cluster read", at=now,
                              person_id=r.person_id, detail={"cluster_id": k.cluster_id, "card_id": r.card_id})
        uow.commit()
    pending = (Timeliness.OVERDUE, Timeliness.PENDING)

    def order(x: ClusterItem) -> tuple[bool, bool, float, int]:
        when = x.deadline.timestamp() if x.state in pending else -x.cluster.first_at.timestamp()
        return (x.state not in pending, x.state is not Timeliness.OVERDUE, when, x.cluster.cluster_id)

    return sorted(out, key=order)


def recent_places(uow: PublicHealthUnitOfWork, principal: Principal, *, now: datetime, hours: int) -> list[str]:
    """The exposure places of the food-borne cases of the last ``hours`` (every member's: a cluster crosses members),
    most frequent first: the form's suggestions, so one place is typed alike (no personal data)."""
    if principal.role is not Role.CLINICIAN:
        raise NotAllowed("仅医生 / clinicians only")
    with uow:
        rows = uow.cards.cluster_cases(now - timedelta(hours=hours))
    counts: dict[str, int] = {}
    for _, _, place, _, _, _ in rows:
        counts[place] = counts.get(place, 0) + 1
    return sorted(counts, key=lambda p: (-counts[p], p))[:50]


def submit_cluster(uow: PublicHealthUnitOfWork, principal: Principal, case_id: int, *, policy: PublicHealthPolicy,
                   now: datetime) -> Timeliness:
    """报告聚集性病例 / The consortium's public-health staff report the cluster of the case ``case_id`` (its id, or
    any of its cases'): on time by its deadline, else late. Anyone else: 403 for a role that may not report, 404 for
    a cluster out of scope or no cluster; 422 when already reported."""
    if principal.role is not Role.CONSORTIUM_ADMIN or not principal.consortium_id:
        raise NotAllowed("仅医共体公共卫生管理人员可报告聚集性病例 / only the consortium's public-health staff report "
                         "a cluster")
    with uow:
        clusters, where, reports = _clusters(uow, policy, now, CLUSTER_DAYS)
        k = next((c for c in clusters if case_id in c.case_ids), None)
        scope = set(uow.cards.institutions_of(principal.consortium_id))
        if k is None or not any(where[i][0] in scope for i in k.case_ids):
            raise NotFound(f"聚集性病例 {case_id} 不存在或无权查看 / no cluster {case_id} in your scope")
        if _report_of(k, reports) is not None:
            raise InvalidRequest("status", f"cluster {k.cluster_id} is already reported / 该聚集性病例已报告")
        uow.cards.add_cluster_report(ClusterReportRow(
            place_key=k.place, first_case_id=k.cluster_id, case_ids=",".join(str(i) for i in k.case_ids),
            cases=len(k.case_ids), first_at=k.first_at, deadline=k.deadline, submitted_at=now,
            submitted_by=actor_of(principal)))
        uow.audit.add(actor=actor_of(principal), action="foodborne cluster submitted", at=now,
                      detail={"cluster_id": k.cluster_id, "cases": list(k.case_ids)})
        uow.commit()
    return timeliness(CardStatus.SUBMITTED, k.deadline, now, now)


# --- Surveillance counts and the emergency stockpile (监测预警与应急物资, seed 002 十) ---


def _readiness_scope(uow: PublicHealthUnitOfWork, principal: Principal) -> list[str] | None:
    """The institutions whose surveillance and stockpile the principal sees (None: every one): the health commission
    every one, the consortium admin its consortium's, a clinician or institution admin their own."""
    if principal.role in (Role.HEALTH_COMMISSION, Role.SYSTEM_ADMIN):
        return None
    if principal.role is Role.CONSORTIUM_ADMIN and principal.consortium_id:
        return uow.readiness.institutions_of(principal.consortium_id)
    if principal.role in (Role.CLINICIAN, Role.INSTITUTION_ADMIN) and principal.inst_id:
        return [principal.inst_id]
    raise NotAllowed("仅公共卫生管理人员和医疗机构人员可查看 / public-health staff and institution staff only")


def _readiness_writer(uow: PublicHealthUnitOfWork, principal: Principal, inst_id: str) -> None:
    """Staff of ``inst_id`` or its consortium's admin (else 404 for an institution out of scope, 403 for a role)."""
    if principal.role not in (Role.CLINICIAN, Role.INSTITUTION_ADMIN, Role.CONSORTIUM_ADMIN):
        raise NotAllowed("仅机构人员和医共体管理中心可登记 / institution staff and the consortium admin only")
    scope = _readiness_scope(uow, principal)
    if uow.readiness.institution(inst_id) is None or (scope is not None and inst_id not in scope):
        raise NotFound(f"机构 {inst_id} 不存在或无权操作 / no institution {inst_id} in your scope")


def record_surveillance(uow: PublicHealthUnitOfWork, principal: Principal, *, inst_id: str, site_kind: str,
                        week: date, counts: Mapping[str, int], policy: PublicHealthPolicy, now: datetime) -> int:
    """症状监测周报 / A site's counts of one week, all syndromes at once (all-or-nothing; a week recorded again is
    replaced); the number of syndromes recorded. ``week`` any day of the week (its Monday is kept)."""
    if site_kind not in SITE_KINDS:
        raise InvalidRequest("site_kind", f"{site_kind!r}: fever_clinic or sentinel / 发热门诊或哨点")
    if not counts:
        raise InvalidRequest("counts", "at least one syndrome / 至少填写一个症状")
    for code, n in counts.items():
        if code not in policy.syndromes:
            raise InvalidRequest(f"counts.{code}", f"unknown syndrome; one of {', '.join(policy.syndromes)} / "
                                                   "未知症状")
        if not 0 <= n <= 1_000_000:
            raise InvalidRequest(f"counts.{code}", "cases from 0 to 1,000,000 / 病例数须在 0 到 1,000,000 之间")
    if week.year < 2000:
        raise InvalidRequest("week", "a week from 2000 on / 须为 2000 年以后的周")
    monday = week_start(week)
    if monday > now.date():
        raise InvalidRequest("week", "a week not yet begun / 不能登记未来的周")
    with uow:
        _readiness_writer(uow, principal, inst_id)
        for code, n in sorted(counts.items()):
            uow.readiness.put_count(inst_id=inst_id, site_kind=site_kind, syndrome=code, week=monday, cases=n,
                                    at=now, by=actor_of(principal))
        uow.audit.add(actor=actor_of(principal), action="surveillance counts recorded", at=now,
                      detail={"inst_id": inst_id, "site_kind": site_kind, "week": monday.isoformat(),
                              "counts": dict(counts)})
        uow.commit()
    return len(counts)


@dataclass(frozen=True)
class SurveillanceWeek:
    """One site's count of a syndrome in a week with its warning threshold (预警阈值) and whether it warns."""

    inst_id: str
    site_kind: str
    syndrome: str
    week: date
    cases: int
    threshold: WeekThreshold
    warning: bool


def surveillance(uow: PublicHealthUnitOfWork, principal: Principal, *, policy: PublicHealthPolicy, until: date,
                 weeks: int = 4) -> list[SurveillanceWeek]:
    """The counts of the ``weeks`` weeks up to ``until``'s week at the sites in scope, each judged against the mean
    + ``surveillance_sd`` SD of its previous ``surveillance_weeks`` recorded weeks (at least
    ``surveillance_min_cases``; the syndrome's fixed threshold with fewer than ``surveillance_min_history`` weeks):
    warnings first, then newest week, institution, site and syndrome."""
    if not 2000 <= until.year <= 2100 or not 1 <= weeks <= 520:
        raise InvalidRequest("until", "a date from 2000 to 2100, 1 to 520 weeks / 日期须在 2000 至 2100 年之间")
    last = week_start(until)
    first = last - timedelta(weeks=weeks - 1)
    with uow:
        scope = _readiness_scope(uow, principal)
        rows = uow.readiness.counts(scope, first - timedelta(weeks=policy.surveillance_weeks), last)
    series: dict[tuple[str, str, str], dict[date, int]] = {}
    for inst_id, kind, syndrome, week, cases in rows:
        series.setdefault((inst_id, kind, syndrome), {})[week] = cases
    out: list[SurveillanceWeek] = []
    for (inst_id, kind, syndrome), by_week in series.items():
        fixed = policy.syndromes.get(syndrome, policy.surveillance_min_cases)
        for week, cases in by_week.items():
            if week < first:
                continue
            history = [by_week[w] for k in range(policy.surveillance_weeks, 0, -1)
                       if (w := week - timedelta(weeks=k)) in by_week]
            th = week_threshold(history, fixed=fixed, min_cases=policy.surveillance_min_cases,
                                sd_factor=policy.surveillance_sd, min_history=policy.surveillance_min_history)
            out.append(SurveillanceWeek(inst_id, kind, syndrome, week, cases, th, is_warning(cases, th)))
    out.sort(key=lambda r: (not r.warning, -r.week.toordinal(), r.inst_id, r.site_kind, r.syndrome))
    return out


def put_stockpile(uow: PublicHealthUnitOfWork, principal: Principal, *, inst_id: str, item_code: str,
                  item_name: str, category: str, unit: str, batch: str, quantity: int, minimum: int,
                  expires_on: date | None, now: datetime) -> int:
    """应急物资 / Set a stockpile line (an item's batch at an institution): its quantity on hand, the minimum to keep
    and the expiry; the line's id. Staff of the institution or its consortium's admin."""
    for field_name, value, most in (("item_code", item_code, 64), ("item_name", item_name, 200),
                                    ("category", category, 32), ("unit", unit, 16), ("batch", batch, 64)):
        if not value.strip() or len(value) > most:
            raise InvalidRequest(field_name, f"required, at most {most} characters / 必填，至多 {most} 个字符")
    if quantity < 0 or minimum < 0:
        raise InvalidRequest("quantity", "quantity and minimum cannot be negative / 数量和下限不能为负")
    with uow:
        _readiness_writer(uow, principal, inst_id)
        row = uow.readiness.stock_line(inst_id, item_code.strip(), batch.strip())
        if row is None:
            row = StockpileRow(inst_id=inst_id, item_code=item_code.strip(), batch=batch.strip())
        new = row.line_id is None
        row.item_name, row.category, row.unit = item_name.strip(), category.strip(), unit.strip()
        row.quantity, row.minimum, row.expires_on = quantity, minimum, expires_on
        row.updated_at, row.updated_by = now, actor_of(principal)
        if new:
            uow.readiness.add_stock_line(row)
        uow.session.flush()
        line_id = row.line_id
        uow.audit.add(actor=actor_of(principal), action="emergency stockpile set", at=now,
                      detail={"inst_id": inst_id, "item_code": item_code, "batch": batch, "quantity": quantity})
        uow.commit()
    return line_id


@dataclass(frozen=True)
class StockpileLine:
    """An emergency-stockpile line with its flags (below minimum, expired, expiring)."""

    row: StockpileRow
    flags: tuple[str, ...]


def stockpile(uow: PublicHealthUnitOfWork, principal: Principal, *, policy: PublicHealthPolicy,
              today: date) -> list[StockpileLine]:
    """The emergency stockpile of the institutions in scope, flagged lines first."""
    with uow:
        rows = uow.readiness.stockpile(_readiness_scope(uow, principal))
        out = [StockpileLine(r, stock_flags(r.quantity, r.minimum, r.expires_on, today, policy.stockpile_warn_days))
               for r in rows]
    return sorted(out, key=lambda x: (not x.flags, x.row.inst_id, x.row.item_code, x.row.batch))
