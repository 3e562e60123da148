"""Two-way referral and reserved capacity (双向转诊、预留号源): the referral workflow up and down the tiers, the slots
receiving institutions publish with a share reserved for referred patients, and bookings that never overbook.

``domain`` (the state machine, the reservation arithmetic, the disease catalogues; pure) <- ``store`` (tables and
repositories) <- ``service`` (use cases, one transaction each) <- ``api`` and ``cli`` (thin adapters).
"""

from __future__ import annotations

__all__: list[str] = []
