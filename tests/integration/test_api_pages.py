"""Pages through the HTTP interface: a resident's visits with the benefit decision agree with the worked example;
officials see the money of their own consortia only; downloads are CSV and Excel; English on request."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from api_fixtures import PASSWORD, api_app, make_user, read_csv  # noqa: F401
from fastapi import FastAPI
from fastapi.testclient import TestClient

from yigongti.core.labels import format_money, label


def to_fen(yuan: str) -> int:
    return int(Decimal(yuan) * 100)


def _signed_in(app: FastAPI, username: str) -> TestClient:
    c = TestClient(app)
    token = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text)
    assert token
    r = c.post("/login", data={"username": username, "password": PASSWORD, "csrf": token.group(1)},
               follow_redirects=False)
    assert r.status_code == 303, r.text
    return c


def test_resident_sees_each_claim_decided_as_in_the_example(api_app: FastAPI,  # noqa: F811
                                                            example_expected: Path) -> None:
    make_user(api_app, "res-claims", "resident", person_id="R0002")
    c = _signed_in(api_app, "res-claims")
    html = c.get("/persons/R0002/claims").text
    expected = [r for r in read_csv(example_expected / "adjudicated.csv") if r["person_id"] == "R0002"]
    assert expected
    for row in expected:
        assert f"<strong>{format_money(to_fen(row['fund_paid']))}</strong>" in html
        assert f"<strong>{format_money(to_fen(row['patient_paid']))}</strong>" in html
        assert f'data-rule="{row["rule"]}">{label("rule", row["rule"])}</span>' in html
    assert "基金支付" in html
    c.cookies.set("ygt_lang", "en")
    english = c.get("/persons/R0002/claims").text
    assert "The fund pays" in english and 'lang="en"' in english


def test_resident_cannot_open_another_households_claims(api_app: FastAPI) -> None:  # noqa: F811
    make_user(api_app, "res-other", "resident", person_id="R0001")
    c = _signed_in(api_app, "res-other")
    assert c.get("/persons/R0150/claims").status_code == 404
    assert c.get("/dashboard").status_code == 403


def test_consortium_admin_sees_only_their_money(api_app: FastAPI, example_expected: Path) -> None:  # noqa: F811
    make_user(api_app, "cons-money", "consortium_admin", consortium_id="G2")
    c = _signed_in(api_app, "cons-money")
    page = c.get("/finance")
    assert page.status_code == 200 and "<svg" in page.text
    rows = c.get("/finance/settlement.csv").text.lstrip("\ufeff").splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["G2"]
    expected = next(r for r in read_csv(example_expected / "settlement.csv") if r["consortium_id"] == "G2")
    header = [h.split()[-1] for h in rows[0].split(",")]  # "中文 code": the code is the last word
    assert rows[0].startswith("医共体编码 consortium_id,参保人数 enrollees,")
    got = dict(zip(header, rows[1].split(","), strict=True))
    for column in ("enrollees", "prospective_budget", "in_network_spend", "balance", "p4p_paid"):
        assert got[column] == expected[column], column
    assert c.get("/finance/G1.xlsx").status_code == 404
    xlsx = c.get("/finance/G2.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def test_bureau_downloads_registry_and_head_counts(api_app: FastAPI, example_input: Path) -> None:  # noqa: F811
    make_user(api_app, "bureau-dl", "insurance_bureau", county_code="513433")
    c = _signed_in(api_app, "bureau-dl")
    reg = c.get("/registry.csv")
    assert reg.headers["content-type"].startswith("text/csv")
    ids = [line.split(",")[0] for line in reg.text.lstrip("\ufeff").splitlines()[1:]]
    assert sorted(ids) == sorted(r["inst_id"] for r in read_csv(example_input / "institutions.csv"))
    counts = c.get("/head-counts.csv", params={"year": 2026}).text.lstrip("\ufeff").splitlines()
    g1 = next(line for line in counts if line.startswith("G1,"))
    assert int(g1.split(",")[-1]) > 0
    assert c.get("/dashboard").status_code == 200


def test_claims_api_agrees_with_the_example(api_app: FastAPI, example_expected: Path) -> None:  # noqa: F811
    from api_fixtures import login

    make_user(api_app, "bureau-claims", "insurance_bureau", county_code="513433")
    with TestClient(api_app) as c:
        headers = login(c, "bureau-claims")
        expected = {r["claim_id"]: r for r in read_csv(example_expected / "adjudicated.csv")
                    if r["person_id"] in ("R0002", "R0040")}
        got = {}
        for pid in ("R0002", "R0040"):
            got |= {d["claim_id"]: d for d in c.get(f"/api/persons/{pid}/claims", headers=headers).json()}
    assert got.keys() == expected.keys()
    for cid, row in expected.items():
        for col in ("network_status", "deductible", "fund_paid", "patient_paid", "rule"):
            assert got[cid][col] == row[col], (cid, col)
        assert got[cid]["explanation_zh"] and got[cid]["explanation_en"]


def test_indicators_and_map_stay_in_scope(api_app: FastAPI) -> None:  # noqa: F811
    make_user(api_app, "cons-ind", "consortium_admin", consortium_id="G3")
    make_user(api_app, "bureau-ind", "insurance_bureau", county_code="513433")
    cons, bureau = _signed_in(api_app, "cons-ind"), _signed_in(api_app, "bureau-ind")
    scopes = {line.split(",")[0] for line in cons.get("/indicators.csv").text.lstrip("\ufeff").splitlines()[1:]}
    assert "G3" in scopes and "513433" in scopes
    assert not any(s.startswith(("G1", "G2")) for s in scopes)
    assert cons.get("/indicators.xlsx").status_code == 403
    assert bureau.get("/indicators.xlsx").content[:2] == b"PK"
    page = bureau.get("/indicators").text
    assert "<svg" in page and "G1" in page and "G2" in page
    cons_map, bureau_map = cons.get("/map").text, bureau.get("/map").text
    assert cons_map.count("<rect") < bureau_map.count("<rect")  # fewer homes in a consortium than in the county
    assert "<title>" in bureau_map


def test_household_page_offers_to_choose_only_where_the_household_rule_allows(api_app: FastAPI) -> None:  # noqa: F811
    # HH009 under "each adult chooses for themself": R0026 (born 1985) for themself and R0030 (born 2012), not
    # for the adults R0027, R0028, R0029; choosing for one of them anyway is refused, and nothing is recorded
    make_user(api_app, "res-hh9", "resident", person_id="R0026")
    c = _signed_in(api_app, "res-hh9")
    html = c.get("/household").text
    offered = set(re.findall(r'href="/persons/(R\d+)/choose"', html))
    assert offered == {"R0026", "R0030"}
    assert "按户内规则由其本人选择" in html
    form = c.get("/persons/R0029/choose").text
    token = re.search(r'name="csrf" value="([^"]+)"', form)
    assert token
    r = c.post("/persons/R0029/choose", data={"consortium_id": "G1", "township_id": "G1-T1",
                                               "village_id": "G1-T1-V2", "csrf": token.group(1)})
    assert r.status_code == 403
