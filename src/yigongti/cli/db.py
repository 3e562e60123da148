"""``yigongti db upgrade|current|export`` and ``yigongti load``: the database (数据库) and loading a data folder into it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from yigongti.cli._app import app, console, exits_on_invalid_input
from yigongti.service.exporting import export_folder
from yigongti.service.loading import load_folder
from yigongti.service.policy import folder_policy, load_policy
from yigongti.store.db import masked_url, resolve_url
from yigongti.store.migrations import current, head, upgrade
from yigongti.store.uow import SqlAlchemyUnitOfWork

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


@db_app.command("export")
def db_export(
    out: Annotated[Path, typer.Option("--out", help="output data folder / 输出目录")],
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
    data: Annotated[Path, typer.Option("--data", help="data folder / 数据目录")],
    db: DbOption = None,
    year: Annotated[int | None, typer.Option(
        "--year", help="also compute and store the designations for this year / 同时计算并保存该年度定点")] = None,
    policy: Annotated[Path | None, typer.Option("--policy", help="policy.toml (default: DIR/policy.toml)")] = None,
) -> None:
    """把数据目录导入数据库（一个事务，可重复导入）/ Load a data folder into the database (one transaction, idempotent).

    Loads institutions, consortia, persons, choices and designations; the database is upgraded first.
    """
    url = resolve_url(db)
    pol = load_policy(policy) if policy is not None else folder_policy(data)
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
