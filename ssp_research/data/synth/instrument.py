"""The synthetic survey's instrument: its waves, districts, items and public id key.

Shared by :mod:`ssp_research.data.synth.simulate` (which draws the answers) and
:mod:`ssp_research.data.synth.export` (which plants the mess and writes the files).

>>> WAVES, len(ITEMS)
((2019, 2021, 2023, 2025), 20)
"""

from __future__ import annotations

__all__ = ["SYNTHETIC_KEY", "WAVES", "PILOT_START", "DISTRICTS", "ITEMS", "DEP", "CLIMATE"]

#: The public key of the synthetic ids (HMAC-SHA256): not a secret.
SYNTHETIC_KEY = "ssp-synthetic-demo-key"
WAVES = (2019, 2021, 2023, 2025)
PILOT_START = 2023
DISTRICTS = ("Midtbyen", "Østbyen", "Lerkendal", "Heimdal")
ITEMS = (
    ["lonely"] + [f"dep{j}" for j in range(1, 7)]
    + ["bullied", "close_friend", "school_thrive", "local_env", "phys_active", "screen_time",
       "family_economy", "health"] + [f"climate{j}" for j in range(1, 6)]
)
DEP = [f"dep{j}" for j in range(1, 7)]
CLIMATE = [f"climate{j}" for j in range(1, 6)]
