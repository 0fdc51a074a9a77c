"""A stand-in for ``projection.model.regions`` (its interface, a plausible layout), used by the
tests of states only while the model has no regions of its own."""

from __future__ import annotations

TILES = {
    "AK": (0, 0), "ME": (0, 11), "VT": (1, 10), "NH": (1, 11),
    "WA": (2, 1), "ID": (2, 2), "MT": (2, 3), "ND": (2, 4), "MN": (2, 5), "IL": (2, 6),
    "WI": (2, 7), "MI": (2, 8), "NY": (2, 9), "RI": (2, 10), "MA": (2, 11),
    "OR": (3, 1), "NV": (3, 2), "WY": (3, 3), "SD": (3, 4), "IA": (3, 5), "IN": (3, 6),
    "OH": (3, 7), "PA": (3, 8), "NJ": (3, 9), "CT": (3, 10),
    "CA": (4, 1), "UT": (4, 2), "CO": (4, 3), "NE": (4, 4), "MO": (4, 5), "KY": (4, 6),
    "WV": (4, 7), "VA": (4, 8), "MD": (4, 9), "DE": (4, 10),
    "AZ": (5, 2), "NM": (5, 3), "KS": (5, 4), "AR": (5, 5), "TN": (5, 6), "NC": (5, 7),
    "SC": (5, 8), "DC": (5, 9),
    "OK": (6, 4), "LA": (6, 5), "MS": (6, 6), "AL": (6, 7), "GA": (6, 8),
    "HI": (7, 0), "TX": (7, 4), "FL": (7, 9),
}
STATES = tuple(sorted(TILES))
STATE_NAMES = {
    "AK": "Alaska", "AL": "Alabama", "AR": "Arkansas", "AZ": "Arizona", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DC": "District of Columbia", "DE": "Delaware",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "IA": "Iowa", "ID": "Idaho",
    "IL": "Illinois", "IN": "Indiana", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "MA": "Massachusetts", "MD": "Maryland", "ME": "Maine", "MI": "Michigan", "MN": "Minnesota",
    "MO": "Missouri", "MS": "Mississippi", "MT": "Montana", "NC": "North Carolina",
    "ND": "North Dakota", "NE": "Nebraska", "NH": "New Hampshire", "NJ": "New Jersey",
    "NM": "New Mexico", "NV": "Nevada", "NY": "New York", "OH": "Ohio", "OK": "Oklahoma",
    "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina",
    "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VA": "Virginia",
    "VT": "Vermont", "WA": "Washington", "WI": "Wisconsin", "WV": "West Virginia",
    "WY": "Wyoming",
}
MEMBERS = {
    "PJM": ("DC", "DE", "MD", "NJ", "OH", "PA", "VA", "WV"),
    "ERCOT": ("TX",),
    "MISO": ("AR", "IA", "IL", "IN", "LA", "MI", "MN", "MO", "MS", "ND", "WI"),
    "SPP": ("KS", "NE", "OK", "SD"),
    "CAISO": ("CA",),
    "NYISO": ("NY",),
    "ISONE": ("CT", "MA", "ME", "NH", "RI", "VT"),
    "SOUTHEAST": ("AL", "FL", "GA", "KY", "NC", "SC", "TN"),
    "WEST": ("AK", "AZ", "CO", "HI", "ID", "MT", "NM", "NV", "OR", "UT", "WA", "WY"),
}
GRID_REGIONS = tuple(MEMBERS)
GRID_REGION_NAMES = {
    "PJM": "PJM Interconnection", "ERCOT": "Electric Reliability Council of Texas",
    "MISO": "Midcontinent ISO", "SPP": "Southwest Power Pool", "CAISO": "California ISO",
    "NYISO": "New York ISO", "ISONE": "ISO New England", "SOUTHEAST": "Southeast (non-RTO)",
    "WEST": "West (non-RTO)",
}
REGION_OF = {s: g for g, members in MEMBERS.items() for s in members}
IAMC_NAMES = {**{s: f"United States|{n}" for s, n in STATE_NAMES.items()},
              **{g: f"United States|{g}" for g in GRID_REGIONS}}
WATER_STRESS = {s: (None, None) for s in STATES}
WATER_STRESS.update({"AZ": (4.6, "Extremely high (>80%)"), "VA": (1.2, "Low-medium (10-20%)"),
                     "TX": (3.1, "High (40-80%)")})
