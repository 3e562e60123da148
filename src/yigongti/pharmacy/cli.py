"""``yigongti pharmacy catalogue --file drugs.csv [--db URL]``: load the consortium's drug catalogue (统一药品目录)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer

from yigongti.core.cli import app, console, err_console
from yigongti.core.dates import china_now
from yigongti.core.db import masked_url, resolve_url
from yigongti.pharmacy.service import CATALOGUE_COLUMNS, InvalidRequest, load_catalogue
from yigongti.pharmacy.uow import PharmacyUnitOfWork

__all__ = ["catalogue_command", "pharmacy_app"]  # the commands this module adds

pharmacy_app = typer.Typer(help="药品统一管理 / the consortium's one pharmacy", no_args_is_help=True)
app.add_typer(pharmacy_app, name="pharmacy")


@pharmacy_app.command("catalogue")
def catalogue_command(
    file: Annotated[Path, typer.Option("--file", help="CSV: " + ", ".join(CATALOGUE_COLUMNS) + " / 药品目录文件")],
    db: Annotated[str | None, typer.Option("--db", help="database URL or SQLite file / 数据库地址")] = None,
) -> None:
    """导入统一药品目录 / Load the drug catalogue: one row per drug (national insurance drug code, generic name, dosage
    form, strength, unit, essential-medicine flag); a drug already there is updated."""
    try:
        with file.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError) as exc:
        err_console.print(f"{file}: cannot read / 无法读取: {exc}")
        raise typer.Exit(2) from None
    url = resolve_url(db)
    try:
        n = load_catalogue(PharmacyUnitOfWork(url), rows, source=file.name,
                           now=china_now())
    except InvalidRequest as exc:
        print(str(exc))
        raise typer.Exit(2) from None
    console.print(f"{masked_url(url)}: {n} drugs / 种药品")
