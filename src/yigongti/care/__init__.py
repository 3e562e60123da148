"""Family doctors and chronic disease (家庭医生签约、慢病管理): family-doctor teams and their yearly contracts with
residents, the chronic-disease registry (hypertension, diabetes), follow-ups with their readings and the family
doctor's worklists, the monthly management measures, long prescriptions.

``domain`` (contracts, the panel cap, control status, worklist rules, key populations; pure) <- ``engine`` (the
measures, Ibis) and ``store`` (tables and repositories) <- ``service`` (use cases, one transaction each) <- ``api``
and ``cli`` (thin adapters).
"""

from __future__ import annotations

__all__: list[str] = []
