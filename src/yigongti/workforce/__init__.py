"""Pooled staff and care quality (人员县管乡用、乡聘村用；处方点评、病历质控): one staff registry across the members,
stationing of lead-hospital and city doctors at township centres with the year-round rules, training hours and
income per staff (the 2024 indicators 2.1 and 2.3), prescription review by random sampling and medical-record
checklists (the quality measures of the internal appraisal).

``domain`` (titles, stationing coverage, sampling, the checklist; pure) <- ``engine`` (the data-folder tables) and
``store`` (tables and repositories) <- ``service`` (use cases, one transaction each) <- ``api``, ``pages`` and ``cli``
(thin adapters).
"""

from __future__ import annotations

__all__: list[str] = []
