"""``yigongti simulate`` (试点模拟) and ``yigongti simulate-pilot`` (试点县生成)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from yigongti.core.cli import DataOption, EngineOption, OutOption, app, console, exits_on_invalid_input, use_engine
from yigongti.core.policy_files import folder_policy
from yigongti.simulator.pilot import PILOT_4X3, read_pilot_design, write_pilot
from yigongti.simulator.report import write_report
from yigongti.simulator.service import county_folders, read_scenarios, run_simulation, write_results

__all__ = ["simulate", "simulate_pilot"]


@app.command("simulate")
@exits_on_invalid_input
def simulate(
    data: DataOption,
    scenarios: Annotated[Path, typer.Option("--scenarios", help="scenarios TOML, [scenarios.NAME] each / 情景文件")],
    out: OutOption,
    years: Annotated[int, typer.Option("--years", help="years simulated after the observed one / 模拟年数")] = 5,
    replicates: Annotated[int, typer.Option("--replicates", help="repeated seeds for the bands / 重复次数")] = 10,
    seed: Annotated[int, typer.Option("--seed", help="random seed; same seed, same numbers / 随机种子")] = 1,
    engine: EngineOption = "duckdb",
    reports: Annotated[bool, typer.Option("--reports/--no-reports", help="report.html and simulation.xlsx")] = True,
    jobs: Annotated[int, typer.Option("--jobs", help="processes (counties and replicates shared out; the same "
                                                     "numbers for any number) / 并行进程数")] = 1,
) -> None:
    """试点模拟：各情景逐年运行真实的待遇结算、考核与清算 / Simulate scenarios over years on the real adjudication,
    appraisal and settlement of a county folder (or a folder of county folders), with bands from repeated seeds."""
    engine = use_engine(engine)
    folders = county_folders(data)
    chosen = read_scenarios(scenarios, base=folder_policy(folders[0][1]),
                            counties=[(name, folder_policy(folder)) for name, folder in folders[1:]])
    with console.status("") as status:
        result = run_simulation(data, chosen, years=years, replicates=replicates, seed=seed, backend=engine,
                                progress=lambda text: status.update(f"模拟 / simulating {text} ..."), jobs=jobs)
    files = write_results(result, out)
    if reports:
        files += write_report(result, out)
    console.print(f"{len(result.counties)} 县 counties x {len(chosen)} 情景 scenarios x {replicates} 次 replicates x "
                  f"{years} 年 years = {len(result.rows):,} 行 rows")
    console.print(f"[green]结果已写入 / results in[/green] {out}: " + ", ".join(f.name for f in files))


@app.command("simulate-pilot")
@exits_on_invalid_input
def simulate_pilot(
    out: OutOption,
    design: Annotated[Path, typer.Option("--design", help="pilot design TOML / 试点设计")] = PILOT_4X3,
    persons: Annotated[int | None, typer.Option("--persons", min=100, max=2_000_000,
                                                  help="persons per county (default: the design's)")]
    = None,
) -> None:
    """生成试点县（区域 x 收入水平）/ Write a pilot design's counties (regions x income levels) as data folders."""
    d = read_pilot_design(design)
    with console.status("生成 / generating ..."):
        summaries = write_pilot(d, out, persons=persons)
    for c, s in zip(d.counties, summaries, strict=True):
        console.print(f"  {c.name}: {s.persons:,} 人 persons, 人均门诊 visits {s.visits_per_person:.2f}, "
                      f"每百人住院 admissions {s.admissions_per_100:.1f}, 基层 primary {s.primary_visit_share:.1%}, "
                      f"县域内住院 in-county {s.county_admission_share:.1%}")
    console.print(f"[green]试点县已写出 / pilot counties written[/green]: {out} (design.csv); next / 下一步: "
                  f"yigongti simulate --data {out} --scenarios SCENARIOS.toml --out RESULTS")
