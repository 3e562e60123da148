"""``python -m yigongti COMMAND ...``: the ``yigongti`` command, for a Python without its entry point on PATH."""

from yigongti.cli import main

if __name__ == "__main__":
    main()
