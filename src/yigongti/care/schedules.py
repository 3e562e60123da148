"""Service schedules of the key populations (重点人群服务时间表), pure: no I/O.

Anchor: China's national basic public-health service norms (国家基本公共卫生服务规范 第三版) and the county consortium's
public-health duty list (县域医共体公共卫生责任清单, 002 十二). Every figure is the policy's
``[care.key_populations]`` (:class:`~yigongti.core.policy.KeyPopulationPolicy`):

* people aged 65+ (老年人): one health check (健康体检) each calendar year, from the day they turn 65;
* children 0-6 (0-6岁儿童): the newborn home visit 7 days after birth, then visits at 1, 3, 6, 8, 12, 18, 24, 30, 36
  months and 4, 5, 6 years (13 visits);
* pregnant women (孕产妇): one prenatal visit in each window of gestational weeks (before 13, 16-20, 21-24, 28-36,
  37-40), counted from the last menstrual period, at least 5; a delivery ends the schedule;
* tuberculosis patients (肺结核患者): a follow-up every 10 days in the 2-month intensive phase (强化期), then every
  month to the end of the 6-month treatment; a treatment stopped ends it;
* severe mental disorders (严重精神障碍患者): a follow-up every 3 months (quarterly) from registration while registered.

Each scheduled visit is a :class:`Slot`: a window ``[start, end]`` in which a service counts, and the ``due`` date
inside it. Windows of one schedule never overlap: a visit counts for one slot at most. The child, tuberculosis and
mental schedules' windows meet half way between two due dates; the elderly's is the calendar year (due by its
end); the prenatal ones are the windows of weeks (due by their end).

A slot ``today`` is done (a service dated in its window), upcoming (the window not open yet), due (open, on or before
its due date), overdue (open, past its due date: it can still be made up) or missed (closed without a service).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from fractions import Fraction

from yigongti.care.domain import KeyPopulation, add_months
from yigongti.core.policy import KeyPopulationPolicy

__all__ = [
    "REGISTERED",
    "SCHEDULED",
    "SLOT_STATE_LABELS",
    "Completion",
    "Slot",
    "SlotState",
    "child_slots",
    "completion",
    "elderly_slots",
    "first_service",
    "mental_slots",
    "person_slots",
    "prenatal_slots",
    "slot_state",
    "tuberculosis_slots",
]

SCHEDULED = (KeyPopulation.ELDERLY, KeyPopulation.CHILD, KeyPopulation.PREGNANT, KeyPopulation.TUBERCULOSIS,
             KeyPopulation.MENTAL)
"""The key populations with a service schedule (hypertension and diabetes have the follow-up worklists)."""
REGISTERED = (KeyPopulation.PREGNANT, KeyPopulation.TUBERCULOSIS, KeyPopulation.MENTAL)
"""The key populations known from a register (登记: a pregnancy, a treatment, a registration), not the birth date."""


class SlotState(StrEnum):
    DONE = "done"
    UPCOMING = "upcoming"
    DUE = "due"
    OVERDUE = "overdue"
    MISSED = "missed"


SLOT_STATE_LABELS = {SlotState.DONE: "已完成 / done", SlotState.UPCOMING: "未到期 / upcoming",
                     SlotState.DUE: "应服务 / due", SlotState.OVERDUE: "已逾期 / overdue",
                     SlotState.MISSED: "已错过 / missed"}


@dataclass(frozen=True)
class Slot:
    """One scheduled service (一次应提供的服务): ``label`` (Chinese / English), the window ``[start, end]`` in which a
    service counts, ``due`` the date it is due by (start <= due <= end)."""

    population: KeyPopulation
    index: int
    label: str
    start: date
    due: date
    end: date


def _day(d: date, days: int) -> date:
    return d + timedelta(days=days)


def _centred(population: KeyPopulation, origin: date, dues: Sequence[tuple[date, str]],
             cap: date | None = None) -> list[Slot]:
    """Slots for the due dates (increasing, after ``origin``) whose windows meet half way between two due dates:
    the first opens at ``origin``, the last closes half its gap after its due date (never after ``cap``)."""
    out: list[Slot] = []
    start = origin
    for i, (due, text) in enumerate(dues):
        if i + 1 < len(dues):
            end = _day(due, (dues[i + 1][0] - due).days // 2)
        else:
            prev = dues[i - 1][0] if i else origin
            end = _day(due, max((due - prev).days // 2, 0))
        if cap is not None:
            end = min(end, cap)
        if end < due or start > due:
            break
        out.append(Slot(population, i, text, start, due, end))
        start = _day(end, 1)
    return out


def _age_text(months: int) -> str:
    if months == 0:
        return "新生儿家庭访视 / newborn home visit"
    if months % 12 == 0:
        return f"{months // 12}岁 / {months // 12} years"
    return f"{months}月龄 / {months} months"


def child_slots(birth: date, policy: KeyPopulationPolicy) -> list[Slot]:
    """The child health visits (儿童健康管理) of a child born on ``birth``, one per age in ``child_visit_months``."""
    dues = [(_day(birth, policy.newborn_visit_days) if m == 0 else add_months(birth, m), _age_text(m))
            for m in policy.child_visit_months]
    cap = _day(add_months(birth, 12 * (policy.child_max_age + 1)), -1)
    return _centred(KeyPopulation.CHILD, birth, dues, cap)


def elderly_slots(birth: date, years: Iterable[int], policy: KeyPopulationPolicy) -> list[Slot]:
    """The yearly health check (老年人健康体检) of each of ``years`` in which the person is ``elderly_age`` or older
    on some day: the window is the year from the day they turn that age, due by the year's end."""
    turns = add_months(birth, 12 * policy.elderly_age)
    out = []
    for y in sorted(set(years)):
        if turns.year > y:
            continue
        start = max(date(y, 1, 1), turns)
        out.append(Slot(KeyPopulation.ELDERLY, y, f"{y}年健康体检 / {y} health check", start, date(y, 12, 31),
                        date(y, 12, 31)))
    return out


def prenatal_slots(lmp: date, policy: KeyPopulationPolicy, *, delivered: date | None = None) -> list[Slot]:
    """The prenatal visits (产前检查) of a pregnancy whose last menstrual period began on ``lmp``: one in each window
    of gestational weeks, due by its end; a delivery (``delivered``) drops the windows not yet open and closes the
    one open."""
    out = []
    for i, (lo, hi) in enumerate(policy.prenatal_weeks):
        start, end = _day(lmp, 7 * lo), _day(lmp, 7 * hi + 6)
        if delivered is not None:
            if start > delivered:
                break
            end = min(end, delivered)
        text = f"孕{lo}-{hi}周 / weeks {lo}-{hi}" if lo else f"孕{hi}周前 / before week {hi + 1}"
        out.append(Slot(KeyPopulation.PREGNANT, i, text, start, end, end))
    return out


def _stopped(slots: list[Slot], stop: date | None) -> list[Slot]:
    """The slots of a schedule that ended on ``stop``: those opening after it dropped, the one open closed then."""
    if stop is None:
        return slots
    out = []
    for s in slots:
        if s.start > stop:
            break
        out.append(s if s.end <= stop else Slot(s.population, s.index, s.label, s.start, min(s.due, stop), stop))
    return out


def tuberculosis_slots(start: date, policy: KeyPopulationPolicy, *, stopped: date | None = None) -> list[Slot]:
    """The treatment follow-ups (督导随访) of a tuberculosis treatment begun on ``start``: every
    ``tb_intensive_every_days`` in the intensive phase, then every ``tb_continuation_every_months`` to the end of
    the treatment; a treatment ``stopped`` (cured early, moved away, died) ends them."""
    intensive_end = add_months(start, policy.tb_intensive_months)
    dues: list[tuple[date, str]] = []
    k = 1
    while _day(start, k * policy.tb_intensive_every_days) <= intensive_end:
        d = _day(start, k * policy.tb_intensive_every_days)
        dues.append((d, f"强化期第{k}次 / intensive {k}"))
        k += 1
    m = policy.tb_intensive_months + policy.tb_continuation_every_months
    while m <= policy.tb_treatment_months:
        if add_months(start, m) > (dues[-1][0] if dues else start):
            dues.append((add_months(start, m), f"继续期第{m}月 / continuation month {m}"))
        m += policy.tb_continuation_every_months
    return _stopped(_centred(KeyPopulation.TUBERCULOSIS, start, dues), stopped)


def mental_slots(registered: date, until: date, policy: KeyPopulationPolicy, *,
                 ended: date | None = None) -> list[Slot]:
    """The follow-ups of a person with a severe mental disorder registered on ``registered``: every
    ``mental_every_months`` while registered (``ended``: the registration closed), those opening by ``until``."""
    dues: list[tuple[date, str]] = []
    k = 1
    last = min(until, ended) if ended is not None else until
    while True:
        d = add_months(registered, k * policy.mental_every_months)
        dues.append((d, f"第{k}次随访 / follow-up {k}"))
        if d > last:
            break
        k += 1
    slots = [s for s in _centred(KeyPopulation.MENTAL, registered, dues) if s.start <= last]
    return _stopped(slots, ended)


def person_slots(birth: date, episodes: Iterable[tuple[str, date, date | None]], *, years: Sequence[int],
                 until: date, policy: KeyPopulationPolicy) -> list[Slot]:
    """Every scheduled service of a person born on ``birth`` with these register ``episodes`` (population, start,
    end or None): the elderly's checks of ``years``, the child visits (when a child in one of them), each episode's
    visits (the mental follow-ups opening by ``until``)."""
    out = elderly_slots(birth, years, policy)
    if years and min(years) - birth.year <= policy.child_max_age + 1:
        out += child_slots(birth, policy)
    for population, start, end in episodes:
        if population == KeyPopulation.PREGNANT.value:
            out += prenatal_slots(start, policy, delivered=end)
        elif population == KeyPopulation.TUBERCULOSIS.value:
            out += tuberculosis_slots(start, policy, stopped=end)
        elif population == KeyPopulation.MENTAL.value:
            out += mental_slots(start, until, policy, ended=end)
    return out


def first_service(slot: Slot, services: Sequence[date]) -> date | None:
    """The first service (``services`` sorted) dated in the slot's window, if any."""
    i = bisect_left(services, slot.start)
    return services[i] if i < len(services) and services[i] <= slot.end else None


def slot_state(slot: Slot, services: Sequence[date], today: date) -> SlotState:
    """Where a slot stands ``today`` given the person's services of its population (sorted dates)."""
    done = first_service(slot, services)
    if done is not None and done <= today:
        return SlotState.DONE
    if today < slot.start:
        return SlotState.UPCOMING
    if today <= slot.due:
        return SlotState.DUE
    if today <= slot.end:
        return SlotState.OVERDUE
    return SlotState.MISSED


@dataclass(frozen=True)
class Completion:
    """Scheduled services counted and done (完成率 = done / counted): a slot counts in a year when its window closes
    in that year, once it has closed or has been done (an open slot not yet done is not counted against anyone)."""

    counted: int
    done: int

    @property
    def rate(self) -> Fraction | None:
        return Fraction(self.done, self.counted) if self.counted else None

    def __add__(self, other: Completion) -> Completion:
        return Completion(self.counted + other.counted, self.done + other.done)


def completion(slots: Iterable[Slot], services: Sequence[date], year: int, today: date) -> Completion:
    """The completion of ``slots`` in ``year`` as of ``today`` (see :class:`Completion`)."""
    counted = done = 0
    for s in slots:
        if s.end.year != year:
            continue
        state = slot_state(s, services, today)
        if state is SlotState.DONE:
            counted += 1
            done += 1
        elif state is SlotState.MISSED:
            counted += 1
    return Completion(counted, done)
