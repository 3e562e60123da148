"""``yigongti serve``: the web platform (服务平台) with the API, on embedded SQLite unless ``--db`` names PostgreSQL."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from yigongti.core.cli import app, console, err_console, exits_on_invalid_input
from yigongti.core.labels import label

DEFAULT_PORT = 8000
EXIT_PORT_TAKEN = 3
FIGURES_WAIT_SECONDS = 3.0
"""A page opened while the year's figures are still being computed (warming up after a start) says 正在计算 after
this long instead of waiting for them."""
WORKER_PING_SECONDS = 30
"""uvicorn's supervisor kills a worker that does not answer its ping within this many seconds (uvicorn's default,
5, killed workers only starved of CPU under load, and with them the answers of the requests they held)."""


def port_refused(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on (端口被占用), or None. Bound the way uvicorn binds (SO_REUSEADDR), then
    released at once."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return (f"端口 {port} 已被占用或不可用（{host}）：请换一个端口，例如 yigongti serve --port {port + 1} 或 "
                    f"make run PORT={port + 1} / port {port} on {host} cannot be listened on ({exc.strerror}): "
                    f"choose another with --port (make run PORT={port + 1})")
    return None


@app.command("serve")
@exits_on_invalid_input
def serve(
    data: Annotated[Path | None, typer.Option("--data", help="data folder loaded into an empty database "
                                                             "(default: a generated demo county) / 数据目录")] = None,
    db: Annotated[str | None, typer.Option("--db", help="database URL (default: $YIGONGTI_DB, else SQLite in "
                                                       "--data-dir) / 数据库地址")] = None,
    host: Annotated[str, typer.Option("--host", help="address to listen on / 监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="port / 端口")] = DEFAULT_PORT,
    data_dir: Annotated[Path, typer.Option("--data-dir", help="SQLite file, secret key, demo accounts "
                                                             "/ 平台数据目录")] = Path(".yigongti"),
    persons: Annotated[int, typer.Option("--persons", min=10, help="size of the demo county / 示例县人数")] = 20_000,
    today: Annotated[str | None, typer.Option("--today", help="pin today's date YYYY-MM-DD (rehearse the switch "
                                                             "window; the clock starts at its 00:00 and runs) "
                                                             "/ 指定今天日期")] = None,
    year: Annotated[int | None, typer.Option("--year", help="year the data folder is for / 数据年度")] = None,
    pool: Annotated[int, typer.Option("--pool", min=1, max=200, help="database connections (PostgreSQL) "
                                                                  "/ 数据库连接数")] = 10,
    workers: Annotated[int, typer.Option("--workers", min=1, max=32, help="worker processes (the login limiter, "
                                                                       "sessions and secret are in the database: any "
                                                                       "worker answers any request) / 进程数")] = 1,
    token_cache: Annotated[float, typer.Option("--token-cache", min=0, max=300,
                                               help="seconds a worker trusts a bearer token it checked (0: check "
                                                    "every request) / 令牌缓存秒数")] = 5.0,
    access_log: Annotated[bool, typer.Option("--access-log/--no-access-log", help="log every request "
                                                                               "/ 记录每个请求")] = True,
    secure_cookies: Annotated[bool, typer.Option("--secure-cookies", help="mark cookies Secure (serve behind "
                                                                        "HTTPS) / 仅经HTTPS发送Cookie")] = False,
    trusted_proxies: Annotated[str, typer.Option("--trusted-proxies", envvar="YIGONGTI_TRUSTED_PROXIES",
                                                 help="comma-separated addresses or networks of reverse proxies "
                                                      "whose X-Forwarded-For names the client (sign-in limits) "
                                                      "/ 可信反向代理")] = "",
) -> None:
    """启动服务平台（首次启动自动建库、导入数据、创建演示账户）/ Start the web platform and its API."""
    import uvicorn
    from pydantic import ValidationError

    refused = port_refused(host, port)
    if refused is not None:  # before anything else is printed, and before minutes of preparing the database
        err_console.print(f"[red]{refused}[/red]")
        raise typer.Exit(EXIT_PORT_TAKEN)

    from yigongti.app.factory import create_app, freeze_startup_objects
    from yigongti.core.db import masked_url
    from yigongti.platform.settings import Settings

    try:
        settings = Settings.resolve(db=db, data=data, data_dir=data_dir,
                                    today=date.fromisoformat(today) if today else None,
                                    pinned_since=time.monotonic() if today else None,
                                    demo_persons=persons, year=year, secure_cookies=secure_cookies,
                                    db_pool_size=pool, token_cache_seconds=token_cache,
                                    figures_wait_seconds=FIGURES_WAIT_SECONDS,
                                    trusted_proxies=tuple(p for p in trusted_proxies.split(",") if p.strip()))
    except ValidationError as exc:
        messages = "; ".join(str(e["msg"]) for e in exc.errors())
        raise typer.BadParameter(messages, param_hint="--trusted-proxies") from None
    with console.status("准备数据库 / preparing the database ..."):
        application = create_app(settings)
    ctx = application.state.ctx
    if workers == 1:
        ctx.figures.warm()
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    console.print(f"[bold]yigongti[/bold] http://{shown_host}:{port}/  (API: /api/openapi.json)")
    console.print(f"数据库 / database: {masked_url(settings.database_url)}")
    if ctx.demo_accounts:
        first = ctx.demo_accounts[0]
        console.print(f"先用参保人账户试试 / try the resident account first: [bold]{first[1]}[/bold] {first[2]}")
        console.print("演示账户 / demo accounts (kept in "
                      f"{settings.data_dir / 'demo-accounts.toml'}):")
        for role, username, password in ctx.demo_accounts:
            console.print(f"  {label('role', role):<10} {role:<18} {username:<12} {password}")
    if workers == 1:
        freeze_startup_objects()
        uvicorn.run(application, host=host, port=port, log_level="info", proxy_headers=False, access_log=access_log)
        return
    import os

    from yigongti.app.factory import SETTINGS_ENV

    ctx.engine.dispose()
    os.environ[SETTINGS_ENV] = settings.model_dump_json()
    uvicorn.run("yigongti.app.factory:create_app_from_env", factory=True, workers=workers, host=host, port=port,
                log_level="info", proxy_headers=False, access_log=access_log,
                timeout_worker_healthcheck=WORKER_PING_SECONDS)


__all__ = ["EXIT_PORT_TAKEN", "port_refused", "serve"]
