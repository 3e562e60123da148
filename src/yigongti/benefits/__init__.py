"""Benefits (待遇): adjudication of claims: network status, deductibles, copays, the annual cap."""
