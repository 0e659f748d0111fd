"""The WO.RUN points rule, once: a finish earns floor(points_per_km × distance_m / 1000).

Decimal arithmetic, so a rule like 0.3 points per km never loses a point to binary rounding (the
ledger credits with the same formula from its registered copy of the rule)."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal
from typing import Any


def points_for(points_per_km: Any, distance_m: Any) -> int:
    try:
        v = Decimal(str(points_per_km or 0)) * Decimal(str(distance_m or 0)) / Decimal(1000)
    except ArithmeticError:
        return 0
    if not v.is_finite() or v < 0:
        return 0
    return int(v.to_integral_value(ROUND_FLOOR))
