"""yigongti.service layer."""
