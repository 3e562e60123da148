"""yigongti.engine layer."""
