"""A data folder whose claims are Parquet parts (money as decimal yuan, as every contract file has it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq

from yigongti.datafolder.folder import fen_to_yuan, read_folder


def claims_in_parquet_parts(source: Path, target: Path, parts: int) -> Path:
    """Copy ``source`` to ``target`` with ``claims.csv`` replaced by ``claims/part-K.parquet``: ``parts`` slices in
    row order, each ``rows // parts`` long, the last taking the rest. Returns ``target``."""
    shutil.copytree(source, target, dirs_exist_ok=True)
    claims = read_folder(source)["claims"]
    (target / "claims.csv").unlink()
    for n in ("total_cost", "covered_cost"):
        claims = claims.set_column(claims.column_names.index(n), n, fen_to_yuan(claims.column(n)))
    (target / "claims").mkdir()
    size = claims.num_rows // parts
    for k in range(parts):
        part = claims.slice(k * size, size if k < parts - 1 else None)
        pq.write_table(part, target / "claims" / f"part-{k}.parquet")
    return target
