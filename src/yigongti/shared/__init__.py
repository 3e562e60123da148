"""The shared health record across the members (共享健康档案) and the internal statement of the services between
them (成员单位内部结算): above the capabilities whose records it gathers (benefits' claims, referral, care, centres)."""

__all__: list[str] = []
