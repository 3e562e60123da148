"""The pilot simulator (试点模拟): a county's money and patient flow under a policy, run on the real engine."""
