"""The Typer application shared by the command modules."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console

from yigongti.core.engine import SPARK_MASTER_ENV, set_spark_master
from yigongti.core.policy import PolicyError
from yigongti.core.problems import InvalidInput

__all__ = [
    "EXIT_INVALID",
    "DataOption",
    "EngineOption",
    "OutOption",
    "PolicyOption",
    "ReportsOption",
    "data_folder",
    "SparkMasterOption",
    "app",
    "console",
    "err_console",
    "exits_on_invalid_input",
    "out_folder",
    "use_engine",
]

EXIT_INVALID = 2
app = typer.Typer(
    name="yigongti",
    help="紧密型县域医共体平台 yigongti: designated care, benefits, capitation budget and settlement.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _commands() -> None:
    # A group even when only the typed command's module is imported (yigongti.cli loads one module per command):
    # Typer would otherwise run a lone command without its name.
    pass


console = Console()

# Options every file-in, files-out command shares (one definition, one help text).


def data_folder(value: str | Path) -> Path:
    """``--data``: a folder path or a ``file://`` URI of one (``file:///mnt/province-2026``, as Spark and Hadoop
    write them; with ``--engine spark`` the executors read the Parquet claims by that URI themselves). Other URIs
    (``hdfs://``, ``s3a://``) are refused with what to do: this machine reads and validates the folder's small tables
    and hashes the claims' bytes, so it must mount the folder (an HDFS FUSE or NFS gateway mount)."""
    text = str(value)
    scheme, sep, rest = text.partition("://")
    if not sep or "/" in scheme or "\\" in scheme:
        return Path(text)
    if scheme.lower() != "file":
        raise typer.BadParameter(
            f"{text}: only file:// URIs or paths; mount {scheme}:// storage on this machine (e.g. an HDFS FUSE or NFS "
            f"gateway mount) and give its path: the executors then read the claims from it / 仅支持本地路径或 file:// "
            f"地址，请先挂载 {scheme}:// 存储")
    from urllib.parse import unquote, urlparse

    parsed = urlparse(text)
    if parsed.netloc not in ("", "localhost"):
        raise typer.BadParameter(f"{text}: a file:// URI of this machine (file:///path) / 须为本机 file:/// 地址")
    return Path(unquote(parsed.path))


DataOption = Annotated[Path, typer.Option("--data", parser=data_folder, help="data folder or file:// URI / 数据目录")]
def out_folder(value: str | Path) -> Path:
    """``--out``: a folder to write into, made when missing; refused at once (before any work) when it, or the
    nearest existing folder above it, is a file."""
    path = Path(value)
    at = path
    while not at.exists() and at != at.parent:
        at = at.parent
    if at.exists() and not at.is_dir():
        raise typer.BadParameter(f"{at} is a file, not a folder / {at} 是文件而非目录")
    return path


OutOption = Annotated[Path, typer.Option("--out", parser=out_folder, help="output folder / 输出目录")]
PolicyOption = Annotated[Path | None, typer.Option("--policy", help="policy.toml (default: DIR/policy.toml)")]
EngineOption = Annotated[str, typer.Option(
    "--engine", "--backend", help="duckdb (this machine) or spark (a Spark session: --spark-master) / 计算引擎")]
SparkMasterOption = Annotated[str | None, typer.Option(
    "--spark-master", envvar=SPARK_MASTER_ENV, show_default="local[*]",
    help="with --engine spark: local[*], local[N] or a cluster, e.g. spark://host:7077 (env YIGONGTI_SPARK_MASTER) "
         "/ Spark 主节点地址")]
ENGINES = ("duckdb", "spark")
ReportsOption = Annotated[bool, typer.Option("--reports/--no-reports", help="HTML and Excel reports / 报告")]
err_console = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


def exits_on_invalid_input(fn: Callable[P, R]) -> Callable[P, R]:
    """Print every problem of invalid input (file:row:column: message) and exit 2."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except InvalidInput as exc:
            for p in exc.problems:
                print(str(p), file=sys.stderr)
            err_console.print(f"[red]{len(exc.problems)} problem(s) / 共 {len(exc.problems)} 处错误[/red]")
            raise typer.Exit(EXIT_INVALID) from None
        except PolicyError as exc:
            print(str(exc), file=sys.stderr)
            raise typer.Exit(EXIT_INVALID) from None

    return wrapper


def use_engine(engine: str, spark_master: str | None = None) -> str:
    """Check ``--engine`` (duckdb or spark) and point this process's Spark session at ``--spark-master``; returns
    the engine (a master with ``--engine duckdb`` is ignored: it may come from the environment)."""
    if engine not in ENGINES:
        raise typer.BadParameter(f"--engine must be duckdb or spark, not {engine!r} / 计算引擎须为 duckdb 或 spark")
    if engine == "spark":
        set_spark_master(spark_master)
    return engine
