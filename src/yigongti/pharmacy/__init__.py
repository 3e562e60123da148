"""One pharmacy for the consortium (药品统一管理): one drug catalogue, stock per institution with receipts and issues
that never go negative, shortages a village clinic registers and the county central pharmacy dispatches to delivery,
and stock-out alerts from the usage of the last weeks.

``domain`` (the catalogue entry, the stock arithmetic, the dispatch state machine, the alert rule; pure) <- ``store``
(tables and repositories) <- ``service`` (use cases, one transaction each) <- ``api`` and ``cli`` (thin adapters).
"""

from __future__ import annotations

__all__: list[str] = []
