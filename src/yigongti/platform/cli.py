"""``yigongti db upgrade|current|partitions|export``, ``yigongti load`` and ``yigongti choose``: the database
(数据库), loading a data folder into it, and recording one choice (a paper form at the counter) through the same
use case as the web."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from yigongti.core.cli import (
    EXIT_INVALID,
    DataOption,
    PolicyOption,
    app,
    console,
    exits_on_invalid_input,
    out_folder,
)
from yigongti.core.db import masked_url, resolve_url
from yigongti.core.policy_files import load_policy, resolve_policy
from yigongti.enrollment.choices import (
    ChooserNotAllowed,
    SubmitChoice,
    UnknownPerson,
    china_now,
    submit_choice,
)
from yigongti.enrollment.exporting import export_folder
from yigongti.enrollment.loading import load_folder
from yigongti.enrollment.uow import SqlAlchemyUnitOfWork
from yigongti.platform.migrations import current, head, upgrade

db_app = typer.Typer(help="数据库 / the database: migrations", no_args_is_help=True)
app.add_typer(db_app, name="db")

DbOption = Annotated[str | None, typer.Option(
    "--db", help="database URL or SQLite file (default: $YIGONGTI_DB, else ./yigongti.sqlite) / 数据库地址")]


@db_app.command("upgrade")
def db_upgrade(db: DbOption = None) -> None:
    """升级数据库结构到最新版本 / Bring the database schema to the newest revision."""
    url = resolve_url(db)
    before = current(url)
    upgrade(url)
    console.print(f"{masked_url(url)}: {before or 'empty / 空库'} -> {head()} [green]OK[/green]")


@db_app.command("current")
def db_current(db: DbOption = None) -> None:
    """显示数据库结构版本 / Show the schema revision of the database."""
    url = resolve_url(db)
    rev = current(url)
    state = "up to date / 已是最新" if rev == head() else f"newest is {head()} / 最新版本为 {head()}"
    console.print(f"{masked_url(url)}: {rev or 'empty / 空库'} ({state})")


@db_app.command("partitions")
def db_partitions(
    year: Annotated[int | None, typer.Option("--year", min=1900, max=9999,
                                             help="give this year its own partitions (rows of it in DEFAULT move) "
                                                  "/ 为该年度建分区")] = None,
    db: DbOption = None,
) -> None:
    """分区（PostgreSQL）/ List the yearly partitions of the designations and the audit log, or add a year's."""
    from yigongti.core.db import make_engine
    from yigongti.platform.partitions import add_year, partitions

    url = resolve_url(db)
    if url.get_backend_name() != "postgresql":
        console.print(f"{masked_url(url)}: 仅 PostgreSQL 有分区 / partitions are for PostgreSQL only")
        raise typer.Exit(EXIT_INVALID)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            if year is not None:
                made = add_year(conn, year)
                console.print(f"{year}: " + (", ".join(made) if made else "已存在 / already there"))
            for table, name, bounds, rows in partitions(conn):
                console.print(f"  {table:<14} {name:<24} {bounds:<60} {rows:>12,} 行 rows")
    finally:
        engine.dispose()


@db_app.command("export")
def db_export(
    out: Annotated[Path, typer.Option("--out", parser=out_folder, help="output data folder / 输出目录")],
    db: DbOption = None,
    id_numbers: Annotated[bool, typer.Option(
        "--id-numbers/--without-id-numbers", help="include resident ID numbers / 是否导出身份证号码")] = True,
) -> None:
    """把数据库导出为数据目录（含在线选择）/ Export the database as a data folder (online choices included).

    Writes institutions, consortia, persons, choices and designations as CSV, ready for ``yigongti enroll``.
    """
    url = resolve_url(db)
    uow = SqlAlchemyUnitOfWork(url, read_only=True)
    try:
        rows = export_folder(uow, out, id_numbers=id_numbers)
    finally:
        uow.dispose()
    console.print("written / 已写入: " + ", ".join(f"{k} {v}" for k, v in rows.items()))
    console.print(f"[green]{masked_url(url)} -> {out}[/green]")


@app.command("load")
@exits_on_invalid_input
def load(
    data: DataOption,
    db: DbOption = None,
    year: Annotated[int | None, typer.Option(
        "--year", help="also compute and store the designations for this year / 同时计算并保存该年度定点")] = None,
    policy: PolicyOption = None,
) -> None:
    """把数据目录导入数据库（一个事务，可重复导入）/ Load a data folder into the database (one transaction, idempotent).

    Loads institutions, consortia, persons, choices and designations; the database is upgraded first.
    """
    url = resolve_url(db)
    pol = resolve_policy(data, policy)
    upgrade(url)
    uow = SqlAlchemyUnitOfWork(url)
    try:
        report = load_folder(data, uow, policy=pol, year=year)
    finally:
        uow.dispose()
    read = ", ".join(f"{k} {v}" for k, v in report.rows.items())
    console.print(f"read / 读取: {read}")
    console.print("in the database / 库中: " + ", ".join(f"{k} {v}" for k, v in report.database.items()))
    console.print(f"refused choices / 被拒绝的选择: {report.refused_choices}")
    if year is not None:
        src = ", ".join(f"{k} {v}" for k, v in report.by_source.items())
        console.print(f"{year}: {report.designated} persons designated / 人已定点 ({src})")
    console.print(f"[green]loaded into / 已导入 {masked_url(url)} in {report.seconds:.1f} s[/green]")


EXIT_REFUSED = 1


@app.command("choose")
@exits_on_invalid_input
def choose(
    person: Annotated[str, typer.Option("--person", help="person_id / 参保人编码")],
    year: Annotated[int, typer.Option("--year", help="year the choice is for / 定点年度")],
    consortium: Annotated[str, typer.Option("--consortium", help="consortium_id / 医共体")],
    township: Annotated[str, typer.Option("--township", help="township-tier inst_id / 乡镇级机构")],
    village: Annotated[str, typer.Option("--village", help="village-tier inst_id / 村级机构")],
    db: DbOption = None,
    at: Annotated[datetime | None, typer.Option(
        "--at", formats=["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"],
        help="when it was chosen, China time (default: now) / 选择时间")] = None,
    chooser: Annotated[str | None, typer.Option(
        "--chooser", help="household member choosing for the person / 代为选择的家庭成员")] = None,
    only_me: Annotated[bool, typer.Option(
        "--only-me", help="not for the household members / 仅为本人选择")] = False,
    actor: Annotated[str, typer.Option("--actor", help="who records it (audit log) / 经办人")] = "cli",
    policy: Annotated[Path | None, typer.Option("--policy", help="policy.toml (default: rules.md defaults)")] = None,
) -> None:
    """登记一次定点选择（窗口、层级、家庭规则）/ Record one choice (window, nesting, household rules).

    Exit 0 when accepted, 1 when refused (the choice is kept with its reason), 2 for an unknown person or a chooser
    who may not choose for the person.
    """
    pol = load_policy(policy)
    uow = SqlAlchemyUnitOfWork(resolve_url(db))
    cmd = SubmitChoice(person, year, consortium, township, village, at or china_now(), for_household=not only_me,
                       actor=actor, channel="cli", chooser_id=chooser)
    try:
        result = submit_choice(cmd, uow, policy=pol)
    except (UnknownPerson, ChooserNotAllowed) as exc:
        print(str(exc), file=sys.stderr)
        raise typer.Exit(EXIT_INVALID) from None
    finally:
        uow.dispose()
    if result.refusal is not None:
        console.print(f"[red]refused / 不予受理 ({result.refusal.code.value}): {result.refusal.message}[/red]")
        raise typer.Exit(EXIT_REFUSED)
    for d in result.designations:
        where = f"{d.consortium_id} / {d.township_id} / {d.village_id}"
        console.print(f"{d.person_id} {d.year}: {where} ({d.source.value})")
    console.print(f"[green]{result.message} (choice {result.choice_id})[/green]")


# the commands this module adds
__all__ = ["choose", "db_app", "db_current", "db_export", "db_partitions", "db_upgrade", "load"]
