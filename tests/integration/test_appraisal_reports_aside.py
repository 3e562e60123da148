"""The appraisal's reports made aside (考核报告并行生成): a province's workbook is built by another process while the
run goes on (``appraisal.report.rendering``, ``appraisal.service.appraisal_written``); the files are those made in
this process, and nothing is written when the run fails meanwhile. The indicator grid of a province names no bar."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from yigongti.appraisal import report
from yigongti.appraisal.report import appraisal_html, appraisal_xlsx, rendering
from yigongti.appraisal.service import AppraisalResult, appraisal_written, appraise_folder, write_appraisal
from yigongti.core.policy import Policy
from yigongti.core.reports import REPORT_WORKERS_ENV

HERE = Path(__file__).parent / "appraisal_county"


@pytest.fixture(autouse=True)
def two_report_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two report processes whatever the machine's cores or the caller's environment (a caller's
    YIGONGTI_REPORT_WORKERS=1, or one core, would build every workbook in this process: nothing aside tested)."""
    monkeypatch.setenv(REPORT_WORKERS_ENV, "2")


@pytest.fixture(scope="module")
def result() -> AppraisalResult:
    return appraise_folder(HERE, 2026, Policy())


def test_the_workbook_built_by_another_process_is_the_same_bytes(result: AppraisalResult) -> None:
    with rendering(result, parallel=True) as aside:
        pass
    page, workbook = aside()
    assert page == appraisal_html(result)
    assert workbook == appraisal_xlsx(result)
    with rendering(result, parallel=False) as here:
        pass
    assert here() == (page, workbook)


def test_a_province_renders_aside_unless_one_process_is_asked_for(result: AppraisalResult,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[int] = []
    real = report.spawned_pool

    def counted(workers: int, **kw: Any) -> Any:
        started.append(workers)
        return real(workers, **kw)

    monkeypatch.setattr(report, "spawned_pool", counted)
    monkeypatch.setattr(report, "PARALLEL_FROM", result.indicators.num_rows)
    with rendering(result) as made:
        pass
    assert started == [1]
    monkeypatch.setenv(REPORT_WORKERS_ENV, "1")
    with rendering(result) as alone:
        pass
    assert started == [1]  # no process started
    assert made() == alone()
    monkeypatch.delenv(REPORT_WORKERS_ENV)
    monkeypatch.setattr(report, "PARALLEL_FROM", result.indicators.num_rows + 1)
    with rendering(result):
        pass
    assert started == [1]


def test_files_written_around_a_step_are_those_of_write_appraisal(result: AppraisalResult, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report, "PARALLEL_FROM", 0)
    with appraisal_written(result, tmp_path / "aside") as written:
        assert not (tmp_path / "aside" / "indicators.csv").exists()  # moved in when the step is over
    monkeypatch.setenv(REPORT_WORKERS_ENV, "1")
    alone = write_appraisal(result, tmp_path / "alone")
    assert [p.name for p in written] == [p.name for p in alone] == [
        "appraisal.html", "appraisal.xlsx", "indicators.csv", "points.csv", "scores.csv"]
    for a, b in zip(written, alone, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_a_step_that_fails_meanwhile_leaves_nothing_written(result: AppraisalResult, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report, "PARALLEL_FROM", 0)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="settle failed"), appraisal_written(result, out):
        raise RuntimeError("settle failed")
    assert list(out.iterdir()) == []


def test_the_grid_names_the_bars_of_a_few_consortia_only(result: AppraisalResult,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from yigongti.core.reports import pyplot

    def ticks(limit: int) -> list[list[str]]:
        monkeypatch.setattr(report, "GRID_LABELLED", limit)
        drawn: list[list[str]] = []

        def capture(draw: Any, **_kw: Any) -> bytes:
            fig, ax = pyplot().subplots()
            try:
                draw(ax)
                fig.canvas.draw()
                drawn.extend([t.get_text() for t in a.get_xticklabels()] for a in fig.axes if a.axison)
            finally:
                pyplot().close(fig)
            return b""

        monkeypatch.setattr(report, "chart_png", capture)
        report._indicator_grid(result, report._both(result)[0])
        return drawn

    consortia = [s for k, s in report._units(result) if k == "consortium"]
    assert consortia and all(t == consortia for t in ticks(len(consortia)))
    assert all(t == [] for t in ticks(len(consortia) - 1))
