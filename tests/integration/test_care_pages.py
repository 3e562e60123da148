"""The family doctor's pages and the control-rate dashboard (家庭医生工作台、慢病控制率) through the app: who may open
what, hostile parameters, a follow-up from the form changing the worklist and the measures.

Worked example county, "today" 2025-11-15, with the demo care data (``care.sample.seed_demo_care``): a team per
village clinic and township centre, contracts, registered patients and their follow-ups. ``gp-a`` is the GP of the
team of the village clinic with the most patients under contract, ``gp-b`` of another one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from api_fixtures import INSIDE_WINDOW, PASSWORD, csrf_of, page_client
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from prepared_dirs import prepared_data_dir
from yigongti.app.factory import create_app
from yigongti.care.pages import FormIn, check_form
from yigongti.care.sample import link_doctor, seed_demo_care
from yigongti.care.store import ContractRow, FollowupRow, LongPrescriptionRow, RegistryRow, TeamRow
from yigongti.platform.accounts import create_user
from yigongti.platform.settings import Settings
from yigongti.registry.store import InstitutionRow


@dataclass
class World:
    app: FastAPI
    village: str
    other: str
    consortium: str
    gp_a: int
    gp_b: int
    clients: dict[str, TestClient]

    def panel(self, member_id: int) -> set[str]:
        with self.app.state.ctx.sessions() as s:
            return set(s.scalars(select(ContractRow.person_id).where(ContractRow.gp_member_id == member_id)))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, example_input: Path) -> Iterator[World]:
    data_dir = prepared_data_dir(tmp_path_factory, tmp_path_factory.mktemp("care-pages"), example_input, INSIDE_WINDOW)
    app = create_app(Settings(data_dir=data_dir, data_folder=example_input,
                              today=INSIDE_WINDOW, demo_accounts=False, login_burst=50, login_refill_seconds=3600))
    ctx = app.state.ctx
    with ctx.sessions.begin() as s:
        made = seed_demo_care(s, today=ctx.clock.today(), policy=ctx.policy.care, seed=3)
        assert made is not None and made.followups > 0
        assert seed_demo_care(s, today=ctx.clock.today(), policy=ctx.policy.care) is None  # once only
        ranked = s.execute(select(TeamRow.inst_id, func.count())
                           .join(ContractRow, ContractRow.team_id == TeamRow.team_id)
                           .join(RegistryRow, RegistryRow.person_id == ContractRow.person_id)
                           .join(InstitutionRow, InstitutionRow.inst_id == TeamRow.inst_id)
                           .where(InstitutionRow.tier == "village")
                           .group_by(TeamRow.inst_id).order_by(func.count().desc(), TeamRow.inst_id)).all()
        village, other = ranked[0][0], ranked[1][0]
        consortium = s.get(InstitutionRow, village).consortium_id  # type: ignore[union-attr]
        users = {"gp-a": ("clinician", {"inst_id": village}), "gp-b": ("clinician", {"inst_id": other}),
                 "no-seat": ("clinician", {"inst_id": village}), "v-admin": ("institution_admin", {"inst_id": village}),
                 "cons": ("consortium_admin", {"consortium_id": consortium}),
                 "bureau": ("insurance_bureau", {"county_code": "513433"}),
                 "resident": ("resident", {"person_id": "R0008"})}
        for name, (role, anchor) in users.items():
            create_user(s, username=name, password=PASSWORD, role=role, now=ctx.clock.now(), **anchor)
        gp_a = link_doctor(s, "gp-a", [village])
        gp_b = link_doctor(s, "gp-b", [other])
        assert gp_a is not None and gp_b is not None
    with TestClient(app):
        clients = {name: page_client(app, name) for name in users}
        yield World(app, village, other, str(consortium), gp_a, gp_b, clients)
        for c in clients.values():
            c.close()
    app.state.ctx.engine.dispose()


def _listed(html: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for section in re.findall(r'<section class="card worklist" id="(\w+)".*?</section>', html, re.S):
        out[section] = set()
    for name, body in re.findall(r'<section class="card worklist" id="(\w+)"(.*?)</section>', html, re.S):
        out[name] = set(re.findall(r'data-person="([^"]+)"', body))
    return out


def test_the_doctor_sees_their_own_panel_only(world: World) -> None:
    a = world.clients["gp-a"]
    page = a.get("/care")
    assert page.status_code == 200 and "家庭医生工作台" in page.text
    lists = _listed(page.text)
    assert set(lists) == {"overdue", "due", "uncontrolled", "lost"}
    shown = set().union(*lists.values())
    assert shown and shown <= world.panel(world.gp_a)
    assert not shown & world.panel(world.gp_b)
    # another GP's seat is not asked for by a doctor: still their own panel
    assert _listed(a.get(f"/care?gp={world.gp_b}").text) == lists
    b_patient = sorted(world.panel(world.gp_b))[0]
    assert a.get(f"/care/persons/{b_patient}").status_code == 404
    assert a.get(f"/care/persons/{b_patient}/followup").status_code == 404
    assert b_patient not in world.clients["gp-a"].get("/care").text
    # a clinician of the village without a GP seat: told so, no list
    none = world.clients["no-seat"].get("/care")
    assert none.status_code == 200 and "data-person" not in none.text and "全科医生" in none.text
    # the institution admin reads its GP's lists, not another institution's
    admin = world.clients["v-admin"]
    assert _listed(admin.get(f"/care?gp={world.gp_a}").text) == lists
    assert admin.get(f"/care?gp={world.gp_b}").status_code == 404
    assert admin.get(f"/care/persons/{sorted(shown)[0]}/followup").status_code == 403  # only clinicians record
    with world.app.state.ctx.sessions() as s:  # who looked at which patient's line is in the audit log
        audited = set(s.scalars(text("SELECT person_id FROM audit_log WHERE action = 'GET /care'")))
    assert shown <= audited


def test_residents_and_strangers_are_kept_out(world: World) -> None:
    r = world.clients["resident"]
    for path in ("/care", "/care/dashboard", "/care/persons/R0008", "/care/persons/R0008/followup",
                 "/care/dashboard.csv?table=trend"):
        assert r.get(path).status_code == 403, path
    anonymous = TestClient(world.app)
    assert anonymous.get("/care", follow_redirects=False).status_code in (303, 307, 401)
    assert anonymous.get("/care/dashboard", follow_redirects=False).status_code in (303, 307, 401)


@pytest.mark.parametrize("path", [
    "/care?gp=abc", "/care?gp=0", "/care?gp=99999999999", "/care?done=%3Cscript%3E",
    "/care/persons/" + "x" * 65, "/care/persons/%27%3B%20DROP%20TABLE%20persons", "/care/persons/NOBODY/followup",
    "/care/persons/R0008/followup?disease=cancer",
    "/care/dashboard?disease=cancer", "/care/dashboard?year=99999", "/care/dashboard?year=abc",
    "/care/dashboard?consortium=..%2F..%2Fetc", "/care/dashboard?consortium=NOPE", "/care/dashboard?year=2099",
    "/care/dashboard.csv?table=evil", "/care/dashboard.csv", "/care/dashboard?consortium=G1&inst=NOPE",
])
def test_hostile_parameters_are_4xx(world: World, path: str) -> None:
    for who in ("gp-a", "cons"):
        code = world.clients[who].get(path).status_code
        assert 400 <= code < 500, (who, path, code)


def test_hostile_posts_are_refused_with_the_reason(world: World) -> None:
    a = world.clients["gp-a"]
    pid = sorted(world.panel(world.gp_a))[0]
    url = f"/care/persons/{pid}/followup"
    token = csrf_of(a.get(url).text)
    assert a.post(url, data={"disease": "hypertension", "systolic": "130", "diastolic": "80"}).status_code == 403
    assert a.post(url, data={"csrf": "forged", "disease": "hypertension"}).status_code == 403
    cases = {"收缩压应在 40-300 之间": {"systolic": "900", "diastolic": "80"},
             "收缩压应为整数": {"systolic": "1e3", "diastolic": "80"},
             "血压需同时录入": {"systolic": "130"},
             "收缩压须高于舒张压": {"systolic": "80", "diastolic": "90"},
             "随访日期不能晚于今天": {"systolic": "130", "diastolic": "80", "date": "2099-01-01"},
             "格式应为": {"systolic": "130", "diastolic": "80", "date": "15/11/2025"},
             "下次随访须在本次之后": {"systolic": "130", "diastolic": "80", "next_date": "2020-01-01"},
             "请选择病种": {"systolic": "130", "diastolic": "80", "disease": "cancer"}}
    with world.app.state.ctx.sessions() as s:
        before = s.scalar(select(func.count()).select_from(FollowupRow))
    for reason, fields in cases.items():
        r = a.post(url, data={"csrf": token, "disease": "hypertension", "date": "2025-11-15", **fields})
        assert r.status_code == 422 and reason in r.text, (reason, r.status_code)
        assert 'aria-invalid="true"' in r.text or "请选择病种" in reason
    assert a.post(url, data={"csrf": token, "systolic": "1" * 50}).status_code == 422  # longer than the form allows
    with world.app.state.ctx.sessions() as s:
        assert s.scalar(select(func.count()).select_from(FollowupRow)) == before  # nothing saved


def _trend_row(client: TestClient, village: str, consortium: str, month: int) -> dict[str, str]:
    r = client.get(f"/care/dashboard.csv?table=trend&disease=hypertension&consortium={consortium}&inst={village}")
    assert r.status_code == 200
    lines = r.content.decode("utf-8-sig").splitlines()
    header = [h.split()[-1] for h in lines[0].split(",")]
    assert lines[0].startswith("病种 disease,月份 month,登记管理人数 registered")
    rows = [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]
    return next(x for x in rows if x["month"] == str(month))


def test_a_followup_from_the_worklist_updates_the_lists_and_the_measures(world: World) -> None:
    a = world.clients["gp-a"]
    today = INSIDE_WINDOW
    with world.app.state.ctx.sessions() as s:  # a hypertension patient under management, not controlled last time
        panel = world.panel(world.gp_a)
        last = {}
        for f in s.scalars(select(FollowupRow).where(FollowupRow.person_id.in_(panel),
                                                     FollowupRow.disease == "hypertension")
                           .order_by(FollowupRow.date, FollowupRow.followup_id)):
            last[f.person_id] = f
        registered = dict(s.execute(select(RegistryRow.person_id, RegistryRow.registered_on).where(
            RegistryRow.person_id.in_(panel), RegistryRow.disease == "hypertension")).all())
    chosen = sorted(p for p, on in registered.items() if on < date(2025, 8, 1)
                    and (p not in last or (last[p].control != "controlled" and last[p].date < today)))
    assert chosen, "the demo data gives the doctor at least one patient to see"
    pid = chosen[0]
    lists = _listed(a.get("/care").text)
    assert any(pid in lists[w] for w in ("overdue", "uncontrolled", "lost"))
    before = _trend_row(world.clients["cons"], world.village, world.consortium, today.month)

    form = a.get(f"/care/persons/{pid}/followup?disease=hypertension")
    assert form.status_code == 200 and 'inputmode="numeric"' in form.text and 'inputmode="decimal"' in form.text
    r = a.post(f"/care/persons/{pid}/followup", follow_redirects=False, data={
        "csrf": csrf_of(form.text), "disease": "hypertension", "date": today.isoformat(), "systolic": "128",
        "diastolic": "78", "fasting_glucose": "", "hba1c": "", "medicines": "氨氯地平片 5mg 每日1次",
        "next_date": "2026-02-15"})
    assert r.status_code == 303 and r.headers["location"].startswith(f"/care?done={pid}")
    after_lists = _listed(a.get("/care").text)
    assert not any(pid in after_lists[w] for w in ("overdue", "uncontrolled", "lost"))
    after = _trend_row(world.clients["cons"], world.village, world.consortium, today.month)
    assert int(after["controlled"]) == int(before["controlled"]) + 1
    assert int(after["registered"]) == int(before["registered"])
    page = a.get(f"/care/persons/{pid}")
    assert page.status_code == 200 and "128/78" in page.text and "<svg" in page.text and "控制满意" in page.text
    with world.app.state.ctx.sessions() as s:
        saved = s.scalar(select(FollowupRow).where(FollowupRow.person_id == pid)
                         .order_by(FollowupRow.followup_id.desc()).limit(1))
        assert saved is not None and saved.recorded_by.startswith("gp-a") and saved.control == "controlled"


def test_the_dashboard_drills_down_to_the_village_clinics(world: World) -> None:
    c = world.clients["cons"]
    top = c.get("/care/dashboard")
    assert top.status_code == 200 and "<svg" in top.text and "控制率" in top.text
    assert "hypertension" not in re.sub(r'(href|value|data-[a-z]+)="[^"]*"', "", top.text)  # no raw code shown
    cons = c.get(f"/care/dashboard?consortium={world.consortium}")
    assert cons.status_code == 200 and f'data-inst="{world.village}"' in cons.text
    assert "svg class=\"chart map\"" in cons.text and "<circle" in cons.text
    village = c.get(f"/care/dashboard?consortium={world.consortium}&inst={world.village}&disease=diabetes")
    assert village.status_code == 200
    units = c.get(f"/care/dashboard.csv?table=units&consortium={world.consortium}")
    head = units.content.decode("utf-8-sig").splitlines()[0]
    assert head.startswith("病种 disease,机构编码 inst_id,名称 name") and "控制率（%） control_rate" in head
    other = "G2" if world.consortium != "G2" else "G1"
    assert c.get(f"/care/dashboard?consortium={other}").status_code == 404  # another consortium
    assert world.clients["bureau"].get(f"/care/dashboard?consortium={other}").status_code == 200


@settings(max_examples=200, deadline=None)
@given(st.fixed_dictionaries({k: st.text(max_size=12) for k in (
    "disease", "date", "systolic", "diastolic", "fasting_glucose", "hba1c", "next_date")}))
def test_the_form_check_never_raises_and_keeps_readings_in_range(fields: dict[str, str]) -> None:
    form = FormIn(**fields)
    cmd = check_form(form, today=INSIDE_WINDOW)
    assert (cmd is None) == bool(form.errors)
    if cmd is not None:
        assert cmd.date <= INSIDE_WINDOW
        assert cmd.systolic is None or 40 <= cmd.systolic <= 300
        assert cmd.fasting_glucose is None or Decimal("0.5") <= cmd.fasting_glucose <= 50
        assert (cmd.systolic is None) == (cmd.diastolic is None)


def test_the_demo_care_data_is_deterministic_with_realistic_prevalence(tmp_path: Path, example_input: Path) -> None:
    """The same county, day and seed give the same teams, contracts, registry and follow-ups; adult hypertension about
    25% and diabetes about 12%, fewer registered than prevalent."""
    found = []
    for k in range(2):
        app = create_app(Settings(data_dir=tmp_path / str(k), data_folder=example_input, today=INSIDE_WINDOW,
                                  demo_accounts=False))
        ctx = app.state.ctx
        try:
            with ctx.sessions.begin() as s:
                made = seed_demo_care(s, today=INSIDE_WINDOW, policy=ctx.policy.care, seed=3)
                assert made is not None
                rows = (
                    s.execute(select(TeamRow.inst_id, TeamRow.name).order_by(TeamRow.team_id)).all(),
                    s.execute(select(ContractRow.person_id, ContractRow.gp_member_id, ContractRow.start_date)
                              .order_by(ContractRow.person_id)).all(),
                    s.execute(select(RegistryRow.person_id, RegistryRow.disease, RegistryRow.registered_on)
                              .order_by(RegistryRow.person_id, RegistryRow.disease)).all(),
                    s.execute(select(FollowupRow.person_id, FollowupRow.disease, FollowupRow.date, FollowupRow.systolic,
                                     FollowupRow.diastolic, FollowupRow.fasting_glucose, FollowupRow.control)
                              .order_by(FollowupRow.followup_id)).all())
                found.append((made, rows))
        finally:
            ctx.engine.dispose()
    (made, rows), (_, again) = found
    assert rows == again
    assert 0.17 <= made.hypertension / made.adults <= 0.33, made
    assert 0.06 <= made.diabetes / made.adults <= 0.22, made  # 181 adults, older than the demo county
    registered = {(p, d) for p, d, _ in rows[2]}
    assert 0 < len(registered) < made.hypertension + made.diabetes
    assert {d for _, d, _ in rows[2]} == {"hypertension", "diabetes"}
    assert all(on <= INSIDE_WINDOW for *_, on in rows[2])
    assert all(f[2] <= INSIDE_WINDOW for f in rows[3])


def _gp_rows(html: str) -> dict[str, list[str]]:
    """The GP pay table: gp member id -> the cells after name, institution and tier."""
    out = {}
    for gp, body in re.findall(r'<tr data-gp="(\d+)">(.*?)</tr>', html, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)
        out[gp] = cells
    return out


def test_gp_pay_for_officials_components_add_up(world: World) -> None:
    from yigongti.core.money import parse_yuan

    ctx = world.app.state.ctx
    with ctx.sessions() as s, s.begin():  # two long prescriptions of gp_a's patients this year
        for pid in sorted(world.panel(world.gp_a))[:2]:
            s.add(LongPrescriptionRow(person_id=pid, disease="hypertension", days=60, gp_member_id=world.gp_a,
                                      inst_id=world.village, issued_at=ctx.clock.now(), issued_by="gp-a"))
    c = world.clients["cons"]
    page = c.get("/care/gp-pay")
    assert page.status_code == 200 and "家庭医生薪酬" in page.text
    rows = _gp_rows(page.text)
    assert str(world.gp_a) in rows
    with world.app.state.ctx.sessions() as s:
        insts = dict(s.execute(select(InstitutionRow.inst_id, InstitutionRow.consortium_id)).all())
    per_head = world.app.state.ctx.policy.care.gp_pay.per_head
    for gp, cells in rows.items():
        assert insts[cells[1]] == world.consortium, gp  # only the official's consortium
        heads = int(cells[3].replace(",", ""))
        base, quality, rural, total = (parse_yuan(x.replace(",", "")) for x in cells[-4:])
        assert base == heads * per_head and base + quality + rural == total
        assert 0 <= quality <= heads * world.app.state.ctx.policy.care.gp_pay.quality_per_head
    a = rows[str(world.gp_a)]
    assert a[2] == "村卫生室/社区卫生服务站" and parse_yuan(a[-2].replace(",", "")) == 360_000  # village allowance
    assert 0 < int(a[3]) <= len(world.panel(world.gp_a))
    assert a[-5] == str(min(2, len(world.panel(world.gp_a))))  # 长处方数, beside the pay
    everyone = _gp_rows(world.clients["bureau"].get("/care/gp-pay").text)
    assert set(rows) < set(everyone)
    csv_head = c.get("/care/gp-pay.csv").content.decode("utf-8-sig").splitlines()[0]
    assert csv_head.startswith("家庭医生 gp_name,机构编码 inst_id") and "薪酬合计（元） total_pay" in csv_head
    assert "长处方数 long_prescriptions" in csv_head
    assert world.clients["resident"].get("/care/gp-pay").status_code == 403
    assert world.clients["gp-a"].get("/care/gp-pay").status_code == 403  # not for the doctors themselves
    assert world.clients["v-admin"].get("/care/gp-pay.csv").status_code == 403
    assert c.get("/care/gp-pay?year=abc").status_code == 422
    assert "/care/gp-pay" in c.get("/care/dashboard").text


def test_a_long_prescription_from_the_patients_page_is_issued_or_refused_with_the_reason(world: World) -> None:
    a = world.clients["gp-a"]
    with world.app.state.ctx.sessions() as s:  # the doctor's contracted hypertension patients by their last control
        active = set(s.scalars(select(ContractRow.person_id).where(
            ContractRow.gp_member_id == world.gp_a, ContractRow.start_date <= INSIDE_WINDOW,
            ContractRow.end_date >= INSIDE_WINDOW)))
        registered = set(s.scalars(select(RegistryRow.person_id).where(RegistryRow.person_id.in_(active),
                                                                       RegistryRow.disease == "hypertension")))
        last: dict[str, str] = {}
        for f in s.scalars(select(FollowupRow).where(FollowupRow.person_id.in_(registered),
                                                     FollowupRow.disease == "hypertension")
                           .order_by(FollowupRow.date, FollowupRow.followup_id)):
            last[f.person_id] = f.control
        before = s.scalar(select(func.count()).select_from(LongPrescriptionRow))
    stable = sorted(p for p, c in last.items() if c == "controlled")
    unstable = sorted(p for p in registered if last.get(p) != "controlled")
    assert stable and unstable, "the demo data gives the doctor stable and unstable patients"
    page = a.get(f"/care/persons/{stable[0]}")
    assert page.status_code == 200 and f'action="/care/persons/{stable[0]}/long-prescription"' in page.text
    token = csrf_of(page.text)
    url = f"/care/persons/{stable[0]}/long-prescription"
    r = a.post(url, data={"csrf": token, "disease": "hypertension", "days": "60"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(f"/care/persons/{stable[0]}?rx=")
    done = a.get(r.headers["location"])
    assert done.status_code == 200 and 'id="rx-issued"' in done.text and "已开具长处方" in done.text
    assert "60" in done.text and '<table tabindex="0" class="data prescriptions"' in done.text
    with world.app.state.ctx.sessions() as s:
        row = s.scalar(select(LongPrescriptionRow).order_by(LongPrescriptionRow.rx_id.desc()).limit(1))
        assert row is not None and (row.person_id, row.days, row.gp_member_id) == (stable[0], 60, world.gp_a)
    # refused with the reason shown, nothing recorded: too long, not stable, not a number, no CSRF, not a doctor
    r = a.post(url, data={"csrf": token, "disease": "hypertension", "days": "61"})
    assert r.status_code == 422 and 'id="rx-refused"' in r.text and "长处方最长 60 天" in r.text
    r = a.post(f"/care/persons/{unstable[0]}/long-prescription",
               data={"csrf": token, "disease": "hypertension", "days": "45"})
    assert r.status_code == 422 and "病情未稳定" in r.text
    for bad in ({"days": "abc"}, {"days": "９０"}, {"days": "9999999999"}, {"disease": "flu"}, {"days": ""}):
        r = a.post(url, data={"csrf": token, "disease": "hypertension", "days": "45"} | bad)
        assert r.status_code == 422 and 'id="rx-refused"' in r.text
    assert a.post(url, data={"disease": "hypertension", "days": "45"}).status_code in (400, 403)
    assert world.clients["v-admin"].post(url, data={"csrf": token, "disease": "hypertension",
                                                    "days": "45"}).status_code == 403
    assert world.clients["gp-b"].post(url, data={"csrf": token, "disease": "hypertension",
                                                 "days": "45"}).status_code in (403, 404)
    with world.app.state.ctx.sessions() as s:
        assert s.scalar(select(func.count()).select_from(LongPrescriptionRow)) == before + 1
