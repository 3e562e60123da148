"""yigongti.store layer."""
