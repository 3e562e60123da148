"""Every CSV download's header row in the reader's language (issue 16, item 1): the columns' labels from
``core.labels`` in Chinese by default and in English with the language switch, the code always last (a program reads
the column back by the last word in either language). The downloads are found from the app's routes, so a new one is
checked without being listed here."""

from __future__ import annotations

import csv
import io
import re

from api_fixtures import api_app, make_user, page_client  # noqa: F401
from fastapi import FastAPI

from app_routes import get_paths
from simulation_runs import finished_run
from yigongti.core.labels import column_headers, column_label

CHARTS = ("burn", "shares", "indicators", "units")
CJK = re.compile(r"[\u4e00-\u9fff]")
# a download whose path names something, or that needs a query: the values tried (the example county's)
PARAMS = {"/finance/{name}.csv": ("/finance/settlement.csv", "/finance/allocation.csv", "/finance/by-month.csv"),
          "/dashboard.csv": tuple(f"/dashboard.csv?chart={c}" for c in CHARTS),
          "/care/dashboard.csv": ("/care/dashboard.csv?table=trend", "/care/dashboard.csv?table=units"),
          "/referral-flows.csv": tuple(f"/referral-flows.csv?table={t}" for t in ("months", "tiers", "capacity")),
          "/simulator/runs/{run_id}/{name}.csv": ("/simulator/runs/1/results.csv", "/simulator/runs/1/consortia.csv")}


def _downloads(app: FastAPI) -> list[str]:
    paths: list[str] = []
    for path in get_paths(app):
        if path.endswith(".csv"):
            assert "{" not in path or path in PARAMS, f"{path}: say in PARAMS which values to try"
            paths += PARAMS.get(path, (path,))
    return paths


def _header(body: str) -> list[str]:
    return next(csv.reader(io.StringIO(body.lstrip("\ufeff"))))


def test_column_label_in_either_language() -> None:
    assert column_label("inst_id") == "机构编码 inst_id"
    assert column_label("inst_id", "en") == "institution id inst_id"
    assert column_label("no_such_column", "en") == "no_such_column"
    assert column_headers(["inst_id", "name"], "en") == ["institution id inst_id", "name"]


def test_every_csv_download_speaks_the_readers_language(api_app: FastAPI) -> None:  # noqa: F811
    make_user(api_app, "dl-bureau", "insurance_bureau", county_code="513433")
    make_user(api_app, "dl-commission", "health_commission", county_code="513433")
    make_user(api_app, "dl-consortium", "consortium_admin", consortium_id="G1")
    make_user(api_app, "dl-institution", "institution_admin", inst_id="G1-T2")
    clients = {who: page_client(api_app, f"dl-{who}") for who in ("bureau", "commission", "consortium", "institution")}
    assert finished_run(api_app) == 1  # the run the simulator's downloads are tried on (PARAMS)
    paths = _downloads(api_app)
    assert "/registry.csv" in paths and "/finance/settlement.csv" in paths
    try:
        for path in paths:
            for c in clients.values():  # the first official role that may download it
                c.cookies.set("ygt_lang", "zh")
                zh = c.get(path)
                if zh.status_code != 403:
                    break
            assert zh.status_code == 200, (path, zh.status_code)
            c.cookies.set("ygt_lang", "en")
            en = c.get(path)
            assert en.status_code == 200, (path, en.status_code)
            zh_head, en_head = _header(zh.text), _header(en.text)
            assert [h.split()[-1] for h in zh_head] == [h.split()[-1] for h in en_head], path
            unlabelled = [h for h in zh_head if not CJK.search(h)]
            assert unlabelled == [], (path, "columns without a Chinese label in core.labels", unlabelled)
            chinese = [h for h in en_head if CJK.search(h)]
            assert chinese == [], (path, "Chinese in the English header", chinese)
            assert en.content.count(b"\n") == zh.content.count(b"\n"), path  # the same rows, only the header differs
    finally:
        for c in clients.values():
            c.close()
