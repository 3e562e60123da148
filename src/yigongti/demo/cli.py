"""``yigongti demo --out DIR``: write a Pingwu-like demo county as a data folder (生成示例县数据)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from yigongti.budget.cli.run import run_and_report
from yigongti.core.cli import EXIT_INVALID, app, console, err_console, exits_on_invalid_input, out_folder
from yigongti.demo import DEFAULT_SEED, DEFAULT_YEAR, DemoSummary
from yigongti.demo.county import write_demo_county
from yigongti.interop.nhsa.sample import SAMPLE_FILE, SAMPLE_LIST_FILE, write_nhsa_folder


class Format(StrEnum):
    AUTO = "auto"
    CSV = "csv"
    PARQUET = "parquet"
    NHSA = "nhsa"  # CSV, with the claims as the national insurance platform's settlement records


def _summary(s: DemoSummary) -> None:
    console.print(f"[green]示例县已写出 / demo county written[/green]: {s.out} ({s.fmt})")
    console.print(f"  县 counties {s.counties}, 医共体 consortia {s.consortia}, 机构 institutions {s.institutions}")
    console.print(f"  参保人 persons {s.persons:,}, 家庭 households {s.households:,} "
                  f"(平均 mean {s.persons / max(s.households, 1):.2f})")
    last = (f" (其中补足{s.year - 1}全年 {s.last_year_claims:,} / of them filling in {s.year - 1})"
            if s.last_year_claims else "")
    console.print(f"  定点选择 choices {s.choices:,}, {s.year - 1}年定点 designations {s.designations:,}, "
                  f"结算清单 claims {s.claims:,}{last}")
    console.print(f"  人均门诊 visits per person {s.visits_per_person:.2f}; 住院率 admissions per 100 "
                  f"{s.admissions_per_100:.1f}; 基层门诊占比 primary share of visits {s.primary_visit_share:.1%}; "
                  f"县域内住院占比 in-county admissions {s.county_admission_share:.1%}; "
                  f"县外医院费用占比 outside share of covered cost {s.outside_covered_share:.1%}")


@app.command("demo")
@exits_on_invalid_input
def demo(
    out: Annotated[Path, typer.Option("--out", parser=out_folder, help="output data folder / 输出目录")] = Path(
        "demo-county"),
    persons: Annotated[int | None,
                       typer.Option(help="persons in total (default 174,000 per county) / 参保人数")] = None,
    seed: Annotated[int, typer.Option(help="random seed; same seed, same files / 随机种子")] = DEFAULT_SEED,
    consortia: Annotated[int, typer.Option(min=1, max=2, help="consortia per county (1 or 2) / 每县医共体数")] = 2,
    counties: Annotated[int, typer.Option(min=1, max=1000, help="number of counties / 县的数量")] = 1,
    year: Annotated[int, typer.Option(min=1990, max=2100, help="the year of the claims / 结算年度")] = DEFAULT_YEAR,
    fmt: Annotated[Format, typer.Option("--format", help="auto: CSV below 1,000,000 persons, else Parquet folders; "
                                                          "nhsa: CSV, the claims as the national insurance platform's "
                                                          "settlement records (no run) / 文件格式")] = Format.AUTO,
    run_year_after: Annotated[bool, typer.Option("--run/--no-run", help="then run the year on it (results in "
                                                 "DIR/results-YEAR) / 生成后运行该年度")] = True,
) -> None:
    """生成平武式示例县数据目录，并运行该年度 / Write a realistic Pingwu-like demo county as a data folder, then run
    the year on it (enroll, adjudicate, appraise, settle) into DIR/results-YEAR."""
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("生成 / generating", total=None)
        try:
            summary = write_demo_county(out, persons=persons, seed=seed, consortia=consortia, counties=counties,
                                    year=year, fmt="csv" if fmt is Format.NHSA else fmt.value,
                                    progress=lambda done, total: bar.update(task, completed=done, total=total))
        except ValueError as exc:
            err_console.print(f"[red]{exc}[/red]")
            raise typer.Exit(EXIT_INVALID) from None
    _summary(summary)
    if fmt is Format.NHSA:
        records = write_nhsa_folder(out)
        console.print(f"[green]医保结算记录 / settlement records[/green]: {out / SAMPLE_FILE} ({records:,}); "
                      f"next / 下一步: yigongti nhsa import --data {out} --records {out / SAMPLE_FILE} "
                      f"--settlement-list {out / SAMPLE_LIST_FILE} --out {out}")
        return
    if run_year_after:
        run_and_report(out, year, out / f"results-{year}")


__all__ = ["demo"]  # the commands this module adds
