"""The demo's referrals and remote diagnoses (演示数据): on first start with the demo accounts the database gets a
year of slots, referrals in every state and remote diagnosis orders around the demo township and its lead hospital,
deterministic and consistent (the slots' counters equal their bookings); a second start adds nothing; the officials'
flows page and both doctors' worklists are not empty."""

from __future__ import annotations

import re
import tomllib
from datetime import date
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from yigongti.app.factory import create_app
from yigongti.centres.store import ConsultationEventRow, ConsultationRow, DiagnosisOrderRow
from yigongti.platform.settings import Settings
from yigongti.referral.store import BookingRow, ReferralRow, SlotRow

TODAY = date(2026, 11, 15)


def _app(data_dir: Path, example_input: Path) -> FastAPI:
    return create_app(Settings(data_dir=data_dir, data_folder=example_input, today=TODAY, demo_accounts=True))


def _counts(app: FastAPI) -> tuple[int, int, int, int, int]:
    with app.state.ctx.sessions() as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) or 0  # type: ignore[return-value]
                     for t in (ReferralRow, SlotRow, BookingRow, DiagnosisOrderRow, ConsultationRow))


def _signed_in(app: FastAPI, data_dir: Path, username: str) -> TestClient:
    accounts = tomllib.loads((data_dir / "demo-accounts.toml").read_text(encoding="utf-8"))["accounts"]
    password = next(a["password"] for a in accounts if a["username"] == username)
    c = TestClient(app)
    token = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text)
    assert token
    r = c.post("/login", data={"username": username, "password": password, "csrf": token.group(1)},
               follow_redirects=False)
    assert r.status_code == 303
    return c


def test_the_demo_fills_the_workflow_once_and_consistently(tmp_path: Path, example_input: Path) -> None:
    app = _app(tmp_path, example_input)
    try:
        first = _counts(app)
        assert first[0] >= 50 and first[1] >= 100 and first[2] >= 100 and first[3] >= 100
        with app.state.ctx.sessions() as s:
            statuses = set(s.scalars(select(ReferralRow.status).distinct()))
            assert {"requested", "accepted", "booked", "returned", "declined", "expired"} <= statuses
            for slot in s.scalars(select(SlotRow)):
                live = list(s.scalars(select(BookingRow).where(BookingRow.slot_id == slot.slot_id,
                                                               BookingRow.status == "booked")))
                assert slot.booked == len(live) <= slot.capacity
                assert slot.booked_open == sum(b.referral_id is None for b in live)
        hospital = _signed_in(app, tmp_path, "hospital-doctor")
        assert hospital.get("/referrals").text.count('<tr id="r') >= 20
        centre = hospital.get("/diagnoses").text
        assert 'data-status="reported"' in centre
        # tele-consultations: concluded over the year with an opinion, one held, one scheduled, one to schedule
        shown = set(re.findall(r'<tr id="c\d+" data-status="(\w+)"', centre))
        assert first[4] >= 10 and shown == {"requested", "scheduled", "held", "concluded"}
        with app.state.ctx.sessions() as s:
            now = app.state.ctx.clock.now()
            for c in s.scalars(select(ConsultationRow)):
                moves = list(s.scalars(select(ConsultationEventRow.to_status).where(
                    ConsultationEventRow.consultation_id == c.consultation_id)
                    .order_by(ConsultationEventRow.event_id)))
                assert moves[-1] == c.status and moves[0] == "requested"
                assert (c.opinion is not None) == (c.status == "concluded")
                assert c.status != "held" or (c.scheduled_at is not None and c.scheduled_at <= now)
        statement = _signed_in(app, tmp_path, "bureau").get("/api/internal-statement?year=2026").json()
        assert {"up_referral", "down_referral", "consultation", "ecg"} <= {ln["item"] for ln in statement}
        flows = _signed_in(app, tmp_path, "bureau").get("/referral-flows?year=2026").text
        total = re.search(r"data-total>([^<]*)<", flows)
        assert total and int(total.group(1).replace(",", "")) == first[0]
    finally:
        app.state.ctx.engine.dispose()
    again = _app(tmp_path, example_input)
    try:
        assert _counts(again) == first
    finally:
        again.state.ctx.engine.dispose()
