"""yigongti.api layer."""
