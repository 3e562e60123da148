"""The capitation budget and settlement (总额预算与年终清算): pool, rate, prepayments, settlement, P4P, split,
ledger."""
