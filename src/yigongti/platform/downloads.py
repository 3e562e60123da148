"""Downloads (下载): a table as CSV (UTF-8 with BOM, so Excel opens the Chinese text correctly); text cells that a
spreadsheet would run as a formula are neutralised (``datafolder.folder.neutralise_cell``). The header row is the
columns' labels from ``core.labels`` in the reader's language (``lang``: ``"机构编码 inst_id"`` in Chinese, the default,
``"institution id inst_id"`` in English; the code always last), for every download."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from fastapi.responses import Response

from yigongti.core.labels import column_headers
from yigongti.datafolder.folder import neutralise_cell

__all__ = ["csv_response"]


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[object]], *,
                 lang: str = "zh") -> Response:
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([neutralise_cell(h) for h in column_headers(header, lang)])
    writer.writerows([neutralise_cell(v) for v in row] for row in rows)
    return Response(buf.getvalue().encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})
