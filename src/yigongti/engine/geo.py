"""Nearest institution by great-circle distance (最近机构), vectorised with a k-d tree.

Points on the unit sphere as 3-D vectors: the straight-line (chord) distance orders pairs exactly as the
great-circle distance does, so a Euclidean k-d tree answers great-circle nearest-neighbour queries.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

__all__ = ["unit_vectors", "nearest", "great_circle_km", "EARTH_RADIUS_KM"]

EARTH_RADIUS_KM = 6371.0088


def unit_vectors(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.float64]:
    lo = np.radians(np.asarray(lon, dtype=np.float64))
    la = np.radians(np.asarray(lat, dtype=np.float64))
    c = np.cos(la)
    return np.column_stack((c * np.cos(lo), c * np.sin(lo), np.sin(la)))


def great_circle_km(lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike) -> NDArray[np.float64]:
    """Haversine distance in km (element-wise, broadcasting)."""
    lo1, la1, lo2, la2 = (np.radians(np.asarray(x, dtype=np.float64)) for x in (lon1, lat1, lon2, lat2))
    a = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


def nearest(point_lon: ArrayLike, point_lat: ArrayLike, target_lon: ArrayLike, target_lat: ArrayLike,
            *, k_ties: int = 4, workers: int = -1) -> NDArray[np.int64]:
    """Index of the nearest target for every point; ties go to the lowest target index.

    Sort targets by id beforehand and "lowest index" is "lowest id" (RULES.md A4: ties break by institution id).
    """
    targets = unit_vectors(target_lon, target_lat)
    points = unit_vectors(point_lon, point_lat)
    n = len(targets)
    if n == 0:
        raise ValueError("no targets to choose from")
    if len(points) == 0:
        return np.empty(0, dtype=np.int64)
    tree = cKDTree(targets)
    k = min(k_ties, n)
    dist, idx = tree.query(points, k=k, workers=workers)
    if k == 1:
        return np.asarray(idx, dtype=np.int64)
    dist = np.asarray(dist)
    idx = np.asarray(idx, dtype=np.int64)
    # equal distances (to floating precision) -> lowest index among them
    tied = dist <= dist[:, :1] * (1 + 1e-12) + 1e-15
    cand = np.where(tied, idx, np.iinfo(np.int64).max)
    return cand.min(axis=1)
