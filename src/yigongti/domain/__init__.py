"""yigongti.domain layer."""
