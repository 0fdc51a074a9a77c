"""How the CSV files write a number (every table writer shares it)."""

from __future__ import annotations

import numpy as np


def number_text(value: float) -> str:
    """A number as the CSV files write it: six significant digits, empty when not finite, and
    never "-0" (a flow clipped at zero from below is zero)."""
    return "" if not np.isfinite(value) else f"{value + 0.0:.6g}"
