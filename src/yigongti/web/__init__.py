"""yigongti.web layer."""
