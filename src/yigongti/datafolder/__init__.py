"""Data folders (数据目录): the data contract, reading and validating a folder of tables (``yigongti check``:
benefits.check_cli)."""
