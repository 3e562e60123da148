"""``yigongti centres``: the shared centres' remote diagnoses out of the database (远程诊断导出)."""

from __future__ import annotations

from typing import Annotated

import typer

from yigongti.core.cli import OutOption, app, console, exits_on_invalid_input

__all__ = ["centres_app", "export_cmd"]

DbOption = Annotated[str | None, typer.Option(
    "--db", help="database URL or SQLite file (default: $YIGONGTI_DB, else ./yigongti.sqlite) / 数据库地址")]

centres_app = typer.Typer(help="资源共享中心 / shared centres: remote diagnoses", no_args_is_help=True)
app.add_typer(centres_app, name="centres")


@centres_app.command("export")
@exits_on_invalid_input
def export_cmd(out: OutOption, db: DbOption = None) -> None:
    """导出远程诊断 / Every reported remote diagnosis order in the database as OUT/remote_diagnoses.csv (the data
    contract's ``remote_diagnoses`` table, dated by the report): put it in the data folder and ``yigongti appraise``
    computes indicator 2.2 (remote diagnoses per 10,000 residents; the kinds of the set's ``remote_kinds``) and
    ``yigongti referral statement`` prices the reads between members."""
    import pyarrow as pa

    from yigongti.centres.service import CONTRACT_COLUMNS, remote_diagnosis_rows
    from yigongti.centres.uow import CentresUnitOfWork
    from yigongti.core.db import masked_url, resolve_url
    from yigongti.datafolder.folder import write_table

    url = resolve_url(db)
    rows = remote_diagnosis_rows(CentresUnitOfWork(url))
    table = pa.table({c: pa.array([r[c] for r in rows], pa.string()) for c in CONTRACT_COLUMNS})
    path = write_table(table, out, "remote_diagnoses")
    console.print(f"{masked_url(url)}: {len(rows)} 远程诊断 / remote diagnoses reported")
    console.print(f"[green]written to / 已写入 {path}[/green]")
