"""yigongti (医共体): a platform for tightly-integrated county medical communities (紧密型县域医共体).

Layers, imports pointing one way: ``cli``/``api``/``web`` -> ``service`` -> ``engine`` and ``store`` -> ``domain``.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
