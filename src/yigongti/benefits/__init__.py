"""Benefits (待遇): adjudication of claims: network status, deductibles, copays, the annual cap; ``yigongti check``
(its claims checked by an engine with ``--engine spark``)."""
