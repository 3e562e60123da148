"""The yearly budget agreement on the platform's pages (年度总额预算协议): each role sees and does its part through
forms with CSRF, every version listed with who and when; the finance figures use the signed figure from the database
and say so; refusals are 4xx pages, never 500."""

from __future__ import annotations

import re

from api_fixtures import api_app, csrf_of, login, make_user, page_client  # noqa: F401
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update

from yigongti.enrollment.store import PersonRow

BASE = "/finance/agreements/G1/2026"


def _post(c: TestClient, action: str, path: str = BASE, **form: str) -> int:
    """Submit the form of ``action`` from the agreement's page, as a browser does; the status of the answer."""
    page = c.get(path)
    assert page.status_code == 200, page.text
    r = c.post(f"{path}/{action}", data={"csrf": csrf_of(page.text), **form}, follow_redirects=False)
    return r.status_code


def _block(html: str, consortium_id: str) -> str:
    """The finance page's section of one consortium."""
    start = html.index(f'<span class="muted">{consortium_id}</span></h2>')
    end = html.find('<section class="card">', start)
    return html[start:end if end > 0 else len(html)]


def test_bureau_and_consortium_negotiate_and_sign_on_the_pages(api_app: FastAPI) -> None:  # noqa: F811
    make_user(api_app, "pg-bureau", "insurance_bureau", county_code="513433")
    make_user(api_app, "pg-g1", "consortium_admin", consortium_id="G1")
    make_user(api_app, "pg-g2", "consortium_admin", consortium_id="G2")
    make_user(api_app, "pg-commission", "health_commission", county_code="513433")
    with page_client(api_app, "pg-bureau") as bureau, page_client(api_app, "pg-g1") as g1, \
            page_client(api_app, "pg-g2") as g2, page_client(api_app, "pg-commission") as commission:
        listing = bureau.get("/finance/agreements")
        assert listing.status_code == 200
        assert set(re.findall(r'data-consortium="(\w+)"', listing.text)) == {"G1", "G2", "G3"}
        assert "尚未提出" in listing.text and "57,150.00" in listing.text  # the example's G1 formula budget
        assert re.findall(r'data-consortium="(\w+)"', g1.get("/finance/agreements").text) == ["G1"]

        page = bureau.get(BASE)
        assert 'action="/finance/agreements/G1/2026/propose"' in page.text and "/sign" not in page.text
        assert _post(bureau, "propose", capacity="1.01", note="按测算公式") == 303
        assert "57,721.50" in bureau.get(BASE).text  # 57150.00 x 1.01

        g1_page = g1.get(BASE)
        assert "/accept" in g1_page.text and "/comment" in g1_page.text and "/adjust" not in g1_page.text
        assert _post(g1, "comment", note="业务量增长，请上调 / volume is up") == 303
        assert _post(bureau, "adjust", amount="58,000.00") == 422  # not a figure: refused, nothing recorded
        assert _post(bureau, "adjust", amount="58000.00", note="协商一致") == 303
        assert _post(g1, "accept", note="同意") == 303
        assert "/sign" in bureau.get(BASE).text
        assert _post(bureau, "sign") == 303

        final = commission.get(BASE)
        assert final.status_code == 200
        assert 'data-status="signed"' in final.text and "<form method=\"post\" action=\"/finance" not in final.text
        versions = re.findall(r'<tr id="v(\d)" data-action="(\w+)">.*?<td>(pg-[\w-]+) ', final.text, re.S)
        assert versions == [("5", "sign", "pg-bureau"), ("4", "accept", "pg-g1"), ("3", "adjust", "pg-bureau"),
                            ("2", "comment", "pg-g1"), ("1", "propose", "pg-bureau")]
        assert "业务量增长" in final.text and "58,000.00" in final.text
        assert g2.get(BASE).status_code == 404  # another consortium's agreement
        commission.cookies.set("ygt_lang", "en")
        en = commission.get(BASE).text
        assert "signed by the bureau" in en and "Versions" in en


def test_the_finance_figures_use_the_signed_agreement_and_say_so(api_app: FastAPI) -> None:  # noqa: F811
    """G1 signed at 58,000.00 in the database (the test above): the figures and the finance page settle G1 on it,
    the others on the formula, each marked."""
    figures = api_app.state.ctx.figures.get()
    g1 = next(s for s in figures.settlement.consortia if s.consortium_id == "G1")
    g2 = next(s for s in figures.settlement.consortia if s.consortium_id == "G2")
    assert figures.agreements["G1"].amount == 5_800_000 and "G2" not in figures.agreements
    assert (g1.budget.gross, g1.budget.reserve, g1.budget.prospective) == (5_800_000, 290_000, 5_510_000)
    assert figures.settlement.formula_budgets["G1"].gross == 5_715_000
    assert g2.budget.gross == figures.settlement.formula_budgets["G2"].gross
    assert figures.settlement.budget_sources["G1"].startswith("signed agreement v5 by pg-bureau")
    make_user(api_app, "fin-bureau", "insurance_bureau", county_code="513433")
    with page_client(api_app, "fin-bureau") as c:
        page = c.get("/finance").text
        c.cookies.set("ygt_lang", "en")
        en = c.get("/finance").text
    g1_block, g2_block = _block(page, "G1"), _block(page, "G2")
    assert 'data-source="signed"' in g1_block and "按签订的协议金额" in g1_block and "58,000.00" in g1_block
    assert "57,150.00" in g1_block  # the formula's figure beside it
    assert 'data-source="formula"' in g2_block and "按测算公式" in g2_block
    assert "signed agreement" in _block(en, "G1") and "formula figure" in _block(en, "G2")
    assert "风险基金余额" in g1_block


def test_role_refusals_are_4xx_never_500(api_app: FastAPI) -> None:  # noqa: F811
    make_user(api_app, "rf-g2", "consortium_admin", consortium_id="G2")
    make_user(api_app, "rf-g1", "consortium_admin", consortium_id="G1")
    make_user(api_app, "rf-doctor", "clinician", inst_id="G1-H")
    make_user(api_app, "rf-bureau", "insurance_bureau", county_code="513433")
    make_user(api_app, "rf-far", "insurance_bureau", county_code="110101")
    with page_client(api_app, "rf-g2") as g2, page_client(api_app, "rf-g1") as g1, \
            page_client(api_app, "rf-doctor") as doctor, page_client(api_app, "rf-bureau") as bureau, \
            page_client(api_app, "rf-far") as far:
        token = csrf_of(g2.get("/finance/agreements").text)
        assert g2.get("/finance/agreements/G1/2026").status_code == 404
        assert g2.post("/finance/agreements/G1/2026/comment", data={"csrf": token, "note": "x"}).status_code == 404
        assert g2.get("/finance/agreements/G9/2026").status_code == 404
        assert far.get("/finance/agreements/G1/2026").status_code == 404
        assert doctor.get("/finance/agreements").status_code == 403
        assert doctor.get("/finance/agreements/G1/2026").status_code == 403
        g1_token = csrf_of(g1.get("/finance/agreements").text)
        assert g1.post("/finance/agreements/G2/2026/propose", data={"csrf": g1_token}).status_code == 403
        b_token = csrf_of(bureau.get("/finance/agreements").text)
        assert bureau.post("/finance/agreements/G2/2026/propose", data={"note": "no csrf"}).status_code == 403
        assert bureau.post("/finance/agreements/G2/2026/propose",
                           data={"csrf": g1_token}).status_code == 403  # another session's token
        for path, form in (("/finance/agreements/G2/2026/explode", {}),
                           ("/finance/agreements/G2/99999/propose", {}),
                           ("/finance/agreements/G2/2026/propose", {"capacity": "-1"}),
                           ("/finance/agreements/G2/2026/propose", {"capacity": "NaN"}),
                           ("/finance/agreements/G2/2026/propose", {"volume": "9" * 21}),
                           ("/finance/agreements/G2/2026/propose", {"amount": "1e9"}),
                           ("/finance/agreements/G2/2026/propose", {"note": "x" * 2001}),
                           ("/finance/agreements/G2/2026/sign", {}),
                           ("/finance/agreements/" + "G" * 65 + "/2026/propose", {})):
            r = bureau.post(path, data={"csrf": b_token, **form}, follow_redirects=False)
            assert 400 <= r.status_code < 500, (path, form, r.status_code, r.text[:200])
        assert bureau.get("/finance/agreements?year=abc").status_code == 422
        assert bureau.get("/finance/agreements/G2/2026").status_code == 200
    with TestClient(api_app) as anonymous:
        r = anonymous.get("/finance/agreements", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login"


def test_a_person_living_away_is_marked_on_the_household_page(api_app: FastAPI) -> None:  # noqa: F811
    ctx = api_app.state.ctx
    with ctx.sessions.begin() as s:
        s.execute(update(PersonRow).where(PersonRow.person_id == "R0026").values(lives_away=True))
    make_user(api_app, "away-r26", "resident", person_id="R0026")
    try:
        with page_client(api_app, "away-r26") as c:
            page = c.get("/household").text
        assert page.count("data-lives-away") == 1 and "常年外出" in page
        make_user(api_app, "away-bureau", "insurance_bureau", county_code="513433")
        with TestClient(api_app) as c:
            headers = login(c, "away-bureau")
            assert c.get("/api/persons/R0026", headers=headers).json()["lives_away"] is True
            assert c.get("/api/persons/R0025", headers=headers).json()["lives_away"] is False
    finally:
        with ctx.sessions.begin() as s:
            s.execute(update(PersonRow).where(PersonRow.person_id == "R0026").values(lives_away=False))

