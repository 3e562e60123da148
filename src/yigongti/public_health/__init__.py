"""Notifiable infectious diseases (法定传染病报告): the disease list as configuration, report cards with their legal
deadlines (2 hours for Class A and Class B managed as A, 24 hours for the others), episodes joining repeat
diagnoses, timeliness per institution, the public-health staff's alert list, and the batch from a year's claims.

``domain`` (the list, deadlines, episodes, timeliness; pure) <- ``engine`` (the batch, Ibis on DuckDB) and ``store``
(tables and repositories) <- ``service`` (use cases, one transaction each) <- ``api`` and ``cli`` (thin adapters).
"""

from __future__ import annotations

__all__: list[str] = []
