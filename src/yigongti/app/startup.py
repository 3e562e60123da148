"""Start-up (启动准备): migrate, load data into an empty database, keep the policy, create the demo accounts (and,
for the generated demo county, its demo report cards and pharmacy: ``demo.workflows``).

Demo accounts get random passwords on first start, kept in ``data_dir/demo-accounts.toml`` (mode 600) so that
``yigongti serve`` can print them again; there is no default password anywhere.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pyarrow.compute as pc
import tomli_w
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from yigongti.budget.opening_service import resolve_opening
from yigongti.centres.sample import seed_demo_consultations, seed_demo_orders
from yigongti.core.policy import Policy, policy_from_toml, policy_to_toml
from yigongti.core.policy_files import folder_policy
from yigongti.datafolder.folder import DataFolder, find_table_file, read_folder
from yigongti.enrollment.loading import load_data
from yigongti.enrollment.portal import age_on, may_choose_for
from yigongti.enrollment.store import DesignationRow, PersonRow
from yigongti.enrollment.uow import SqlAlchemyUnitOfWork
from yigongti.platform.accounts import Role, create_user
from yigongti.platform.accounts_store import UserRow
from yigongti.platform.migrations import upgrade
from yigongti.platform.settings import Clock, Settings
from yigongti.referral.sample import seed_demo_referrals
from yigongti.registry.domain import Tier
from yigongti.registry.store import ConsortiumRow, InstitutionRow

__all__ = ["DEMO_ACCOUNTS_FILE", "DEMO_FAMILY_DOCTOR", "DEMO_HOSPITAL_USERNAMES", "POLICY_FILE", "Prepared", "prepare"]

DEMO_ACCOUNTS_FILE = "demo-accounts.toml"
POLICY_FILE = "policy.toml"
LOADED_FILE = "loaded.toml"  # which folder and year the database was filled from


@dataclass
class Prepared:
    policy: Policy
    folder: Path | None = None
    year: int | None = None
    demo_accounts: list[tuple[str, str, str]] = field(default_factory=list)  # (role, username, password)


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _data_folder(settings: Settings) -> Path:
    if settings.data_folder is not None:
        return settings.data_folder
    from yigongti.demo.county import write_demo_county

    out = settings.data_dir / "demo-county"
    if not (out / "persons.csv").is_file() and not (out / "persons").is_dir():
        write_demo_county(out, persons=settings.demo_persons)
    return out


def _load_if_empty(settings: Settings, sessions: sessionmaker[Session], clock: Clock) -> tuple[Path, int] | None:
    """Load the data folder into an empty database; returns (folder, year) of what the database holds."""
    kept = settings.data_dir / LOADED_FILE
    with sessions() as s:
        if s.scalar(select(func.count()).select_from(PersonRow)):
            if kept.is_file():
                info = tomllib.loads(kept.read_text(encoding="utf-8"))
                return Path(info["folder"]), int(info["year"])
            if settings.data_folder is not None:  # filled by `yigongti load`: figures from the folder given
                year = settings.year or _data_year(read_folder(settings.data_folder)) or clock.today().year
                return settings.data_folder, year
            return None
    folder = _data_folder(settings)
    data = read_folder(folder)
    year = settings.year or _data_year(data) or clock.today().year
    load_data(data, SqlAlchemyUnitOfWork(sessions), policy=folder_policy(folder), year=year, now=clock.now())
    _write_private(settings.data_dir / POLICY_FILE, policy_to_toml(folder_policy(folder)))
    _write_private(kept, tomli_w.dumps({"folder": str(folder.resolve()), "year": year}))
    return folder, year


def _data_year(data: DataFolder) -> int | None:
    """The year a folder is for: the latest year of its choices, else the year after its designations."""
    choices, designations = data.get("choices"), data.get("designations")
    if choices is not None and choices.num_rows:
        return int(pc.max(choices["year"]).as_py())
    if designations is not None and designations.num_rows:
        return int(pc.max(designations["year"]).as_py()) + 1
    return None


def _policy(settings: Settings) -> Policy:
    if settings.data_folder is not None and (settings.data_folder / POLICY_FILE).is_file():
        return folder_policy(settings.data_folder)
    kept = settings.data_dir / POLICY_FILE
    if kept.is_file():
        return policy_from_toml(kept.read_text(encoding="utf-8"), source=str(kept))
    return Policy()


def _demo_resident(s: Session, policy: Policy, on: date) -> PersonRow | None:
    """The demo resident: an adult of a household of three or more who may choose for other members (the household
    head where the rule says so), so that the first page a visitor sees has members to choose for."""
    households = s.scalars(select(PersonRow.household_id).group_by(PersonRow.household_id)
                           .having(func.count() >= 3).order_by(PersonRow.household_id).limit(200)).all()
    for household in households:
        members = s.scalars(select(PersonRow).where(PersonRow.household_id == household)
                            .order_by(PersonRow.household_head.desc(), PersonRow.birth_date, PersonRow.person_id))
        for person in members:
            if age_on(person.birth_date, on) < policy.enrollment.adult_age:
                continue
            if len(may_choose_for(s, person.person_id, policy=policy.enrollment, on=on)) >= 2:
                return person
    return None


def _demo_anchors(s: Session, year: int, policy: Policy,
                  on: date) -> list[tuple[str, Role, dict[str, str]]] | None:
    """(username, role, scope anchor) of the demo accounts: one per role, all around one household so the accounts
    see each other, and a clinician and the admin of the consortium's lead county hospital (who receive the
    township clinician's referrals)."""
    resident = _demo_resident(s, policy, on)
    query = (select(DesignationRow).join(PersonRow, PersonRow.person_id == DesignationRow.person_id)
             .where(DesignationRow.year <= year + 1))
    if resident is not None:
        query = query.where(DesignationRow.person_id == resident.person_id)
    designation = s.scalar(query.order_by(DesignationRow.year.desc(), PersonRow.household_id, PersonRow.person_id)
                           .limit(1))
    if designation is None and resident is not None:
        designation = s.scalar(select(DesignationRow).join(PersonRow, PersonRow.person_id == DesignationRow.person_id)
                               .where(DesignationRow.year <= year + 1)
                               .order_by(DesignationRow.year.desc(), PersonRow.household_id, PersonRow.person_id)
                               .limit(1))
        resident = None
    if designation is not None:
        person = resident or s.get(PersonRow, designation.person_id)
        township, village, consortium = designation.township_id, designation.village_id, designation.consortium_id
    else:
        person = s.scalar(select(PersonRow).order_by(PersonRow.household_id, PersonRow.person_id).limit(1))
        village_row = s.scalar(select(InstitutionRow).where(InstitutionRow.tier == Tier.VILLAGE)
                               .order_by(InstitutionRow.inst_id).limit(1))
        if village_row is None or village_row.parent_id is None or village_row.consortium_id is None:
            return None
        township, village, consortium = village_row.parent_id, village_row.inst_id, village_row.consortium_id
    if person is None:
        return None
    cons = s.get(ConsortiumRow, consortium)
    county = cons.county_code if cons is not None else person.county_code
    anchors = {
        Role.RESIDENT: {"person_id": person.person_id},
        Role.CLINICIAN: {"inst_id": township},
        Role.INSTITUTION_ADMIN: {"inst_id": village},
        Role.CONSORTIUM_ADMIN: {"consortium_id": consortium},
        Role.INSURANCE_BUREAU: {"county_code": county},
        Role.HEALTH_COMMISSION: {"county_code": county},
        Role.SYSTEM_ADMIN: {},
    }
    out = [(DEMO_USERNAMES[role], role, anchor) for role, anchor in anchors.items()]
    # the GP of the team of the consortium's most populous village clinic (the fullest worklists)
    busiest = s.scalar(select(DesignationRow.village_id).where(DesignationRow.consortium_id == consortium,
                                                               DesignationRow.village_id.is_not(None),
                                                               DesignationRow.year <= year + 1)
                       .group_by(DesignationRow.village_id)
                       .order_by(func.count().desc(), DesignationRow.village_id).limit(1))
    out.append((DEMO_FAMILY_DOCTOR, Role.CLINICIAN, {"inst_id": busiest or village}))
    if cons is not None and s.get(InstitutionRow, cons.lead_inst_id) is not None:
        out += [(DEMO_HOSPITAL_USERNAMES[Role.CLINICIAN], Role.CLINICIAN, {"inst_id": cons.lead_inst_id}),
                (DEMO_HOSPITAL_USERNAMES[Role.INSTITUTION_ADMIN], Role.INSTITUTION_ADMIN,
                 {"inst_id": cons.lead_inst_id})]
    return out


DEMO_USERNAMES: dict[Role, str] = {
    Role.RESIDENT: "resident", Role.CLINICIAN: "doctor", Role.INSTITUTION_ADMIN: "clinic",
    Role.CONSORTIUM_ADMIN: "consortium", Role.INSURANCE_BUREAU: "bureau", Role.HEALTH_COMMISSION: "commission",
    Role.SYSTEM_ADMIN: "admin",
}
DEMO_HOSPITAL_USERNAMES: dict[Role, str] = {Role.CLINICIAN: "hospital-doctor", Role.INSTITUTION_ADMIN: "hospital"}
"""The lead county hospital's demo accounts (they receive referrals and publish slots)."""
DEMO_FAMILY_DOCTOR = "family-doctor"
"""The demo family doctor: a clinician of the demo village clinic, the GP of its team (the care pages' worklists)."""


def _demo_accounts(settings: Settings, sessions: sessionmaker[Session], clock: Clock,
                   policy: Policy) -> list[tuple[str, str, str]]:
    path = settings.data_dir / DEMO_ACCOUNTS_FILE
    with sessions.begin() as s:
        has_users = s.scalar(select(func.count()).select_from(UserRow))
        if has_users:
            if not path.is_file():
                return []
            kept = tomllib.loads(path.read_text(encoding="utf-8"))
            return [(a["role"], a["username"], a["password"]) for a in kept.get("accounts", [])]
        anchors = _demo_anchors(s, clock.today().year, policy, clock.today())
        if anchors is None:
            return []
        out = []
        for username, role, anchor in anchors:
            password = secrets.token_urlsafe(9)
            create_user(s, username=username, password=password, role=role, now=clock.now(),
                        display_name=username, **anchor)
            out.append((role.value, username, password))
            if username == DEMO_FAMILY_DOCTOR:
                from yigongti.care.sample import link_doctor

                link_doctor(s, username, [anchor["inst_id"]])
    _write_private(path, tomli_w.dumps({"accounts": [
        {"role": r, "username": u, "password": p} for r, u, p in out]}))
    return out


def _demo_workflow(sessions: sessionmaker[Session], clock: Clock, policy: Policy) -> None:
    """Demo referrals between the demo township doctor's institution and the lead hospital, remote diagnosis
    orders and tele-consultations, written once into a database that has the demo accounts and none of them yet."""
    with sessions.begin() as s:
        insts = {username: inst_id for username, inst_id in s.execute(
            select(UserRow.username, UserRow.inst_id).where(UserRow.username.in_(
                (DEMO_USERNAMES[Role.CLINICIAN], DEMO_HOSPITAL_USERNAMES[Role.CLINICIAN]))))}
        township, lead = insts.get(DEMO_USERNAMES[Role.CLINICIAN]), insts.get(DEMO_HOSPITAL_USERNAMES[Role.CLINICIAN])
        if not township or not lead:
            return
        seed_demo_referrals(s, township_id=township, lead_inst_id=lead, year=clock.today().year, now=clock.now(),
                            policy=policy.referral)
        seed_demo_orders(s, township_id=township, centre_id=lead, year=clock.today().year, now=clock.now(),
                         validity_days=policy.referral.validity_days)
        seed_demo_consultations(s, township_id=township, centre_id=lead, year=clock.today().year, now=clock.now())


def prepare(settings: Settings, *, engine: Engine, sessions: sessionmaker[Session], clock: Clock) -> Prepared:
    """Bring the database to the newest schema, fill it when empty, and make sure the demo accounts exist."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(engine.url)
    loaded = _load_if_empty(settings, sessions, clock)
    prepared = Prepared(policy=_policy(settings), folder=loaded[0] if loaded else None,
                        year=loaded[1] if loaded else None)
    if loaded and find_table_file(loaded[0], "opening") is not None:  # the balances brought into the year: checked
        resolve_opening(loaded[0], loaded[1])  # at start (InvalidInput, exit 2), not on the first finance page
    if settings.data_folder is None and loaded is not None:  # the demo county: its family doctors' work too
        from yigongti.care.sample import seed_demo_care, seed_demo_keypops

        with sessions.begin() as s:
            seed_demo_care(s, today=clock.today(), policy=prepared.policy.care)
            seed_demo_keypops(s, today=clock.today(), policy=prepared.policy.care)
    if settings.demo_accounts:
        prepared.demo_accounts = _demo_accounts(settings, sessions, clock, prepared.policy)
        _demo_workflow(sessions, clock, prepared.policy)
    if settings.data_folder is None and loaded is not None:
        _demo_workflows(sessions, clock, prepared.policy)
    return prepared


def _demo_workflows(sessions: sessionmaker[Session], clock: Clock, policy: Policy) -> None:
    """The demo county's report cards and pharmacy (``demo.workflows``; nothing when already there), the demo
    clinic's village first among the shortages."""
    from yigongti.demo.workflows import seed_workflows

    with sessions.begin() as s:
        clinic = s.scalar(select(UserRow.inst_id).where(UserRow.username == DEMO_USERNAMES[Role.INSTITUTION_ADMIN]))
        seed_workflows(s, policy=policy, now=clock.now(), clinics=[clinic] if clinic else [])
    from yigongti.demo.readiness import seed_readiness

    with sessions.begin() as s:  # surveillance, stockpile, emergency teams, prescriptions (after the pharmacy)
        seed_readiness(s, policy=policy, now=clock.now(), clinics=[clinic] if clinic else [])
