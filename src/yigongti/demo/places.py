"""Places for the demo (示例地名): counties of Sichuan with GB/T 2260 codes and seats, and the city hospitals.

The first county is Pingwu (平武县, rules.md §8); ``--counties K`` takes the next ones, then synthetic counties
(codes 5190xx, seats on a grid east of Pingwu) when K exceeds the list.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAX_COUNTIES", "OUTSIDE_HOSPITALS", "PINGWU_TOWNSHIPS", "SUB_CENTRES", "County", "OutsideHospital",
           "counties"]


@dataclass(frozen=True)
class County:
    code: str
    name: str
    lon: float
    lat: float


_SICHUAN: tuple[County, ...] = (
    County("510727", "平武县", 104.53, 32.41),
    County("510726", "北川羌族自治县", 104.45, 31.82),
    County("510725", "梓潼县", 105.17, 31.64),
    County("510722", "三台县", 105.09, 31.10),
    County("510723", "盐亭县", 105.39, 31.21),
    County("510823", "剑阁县", 105.52, 32.29),
    County("510822", "青川县", 105.24, 32.58),
    County("510824", "苍溪县", 105.94, 31.73),
    County("511321", "南部县", 106.06, 31.35),
    County("511322", "营山县", 106.57, 31.08),
    County("510921", "蓬溪县", 105.71, 30.76),
    County("511921", "通江县", 107.25, 31.91),
    County("511923", "平昌县", 107.10, 31.56),
    County("513222", "理县", 103.17, 31.44),
    County("513433", "冕宁县", 102.18, 28.55),
)

# Pingwu's township-level names (20): two urban community health centres in the county seat, then the four
# regional sub-centres (片区医疗分中心), then the other townships.
PINGWU_TOWNSHIPS: tuple[str, ...] = (
    "龙安社区卫生服务中心", "城南社区卫生服务中心",
    "水晶镇中心卫生院", "江油关镇中心卫生院", "平通镇中心卫生院", "豆叩镇中心卫生院",
    "响岩镇卫生院", "古城镇卫生院", "大桥镇卫生院", "高村乡卫生院", "锁江乡卫生院", "阔达乡卫生院",
    "白马乡卫生院", "木座乡卫生院", "木皮乡卫生院", "黄羊关乡卫生院", "虎牙乡卫生院", "土城乡卫生院",
    "旧堡乡卫生院", "徐塘乡卫生院",
)
MAX_COUNTIES = 1000
SUB_CENTRES = 4  # the regional sub-centres follow the urban centres in the list above


@dataclass(frozen=True)
class OutsideHospital:
    inst_id: str
    name: str
    level: int
    kind: str
    county_code: str
    lon: float
    lat: float


# City hospitals outside every consortium (医共体外医院): Mianyang's tertiary hospitals and a secondary one.
OUTSIDE_HOSPITALS: tuple[OutsideHospital, ...] = (
    OutsideHospital("X01", "绵阳市中心医院", 3, "general", "510703", 104.74, 31.47),
    OutsideHospital("X02", "四川绵阳四〇四医院", 3, "general", "510704", 104.70, 31.45),
    OutsideHospital("X03", "江油市人民医院", 2, "general", "510781", 104.75, 31.78),
)


def counties(k: int) -> list[County]:
    """The first ``k`` demo counties: Pingwu, then other Sichuan counties, then synthetic ones."""
    if not 1 <= k <= MAX_COUNTIES:
        raise ValueError(f"counties must be 1..{MAX_COUNTIES} / 县的数量应为1至{MAX_COUNTIES}")
    out = list(_SICHUAN[:k])
    for n in range(k - len(out)):
        row, col = divmod(n, 20)
        out.append(County(f"519{n:03d}", f"示例县{n + 1}", 100.0 + 0.9 * col, 27.0 + 0.8 * (row % 16)))
    return out
