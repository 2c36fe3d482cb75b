"""Reference p-values for ssp_research.analysis.wild_bootstrap from the PyPI package
``wildboottest`` 0.3.2 (restricted WCR11 bootstrap, Rademacher weights, every sign vector
enumerated since 2^G < B, so the p-values do not depend on a seed).

wildboottest counts a bootstrap statistic only when it is strictly larger than the observed one
(``|t| < |t*|``); the sign vectors v = +1 and v = -1 reproduce the observed statistic up to
rounding, so our p-value (ties counted, as in randomisation inference) is wildboottest's plus
0, 1 or 2 times 1 / 2^G (as the rounding falls). The data are written into the JSON, so the
tests need neither wildboottest nor this script. wildboottest is not a dependency of the
project (it ignores regression weights and gives no interval); regenerate in a throwaway
environment:

    python -m venv /tmp/wbt && /tmp/wbt/bin/pip install wildboottest==0.3.2
    /tmp/wbt/bin/python tests/reference/wild_bootstrap_reference.py \
        > tests/reference/wild_bootstrap_reference.json
"""

import json
import sys
import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
from wildboottest.wildboottest import wildboottest


def case(seed: int, g: int, per: int, treated: int, effect: float) -> dict:
    rng = np.random.default_rng(seed)
    cl = np.repeat(np.arange(g), per)
    d = (cl < treated).astype(float)
    x2 = rng.normal(size=len(cl))
    x = pd.DataFrame({"const": 1.0, "d": d, "x2": x2})
    y = effect * d + 0.3 * x2 + rng.normal(0, 0.7, g)[cl] + rng.normal(0, 1, len(cl))
    out = {"y": y.tolist(), "x": x.to_numpy().tolist(), "cluster": cl.tolist()}
    for param in ("d", "x2"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = wildboottest(sm.OLS(y, x), B=2 * 2**g, cluster=cl, param=param,
                               weights_type="rademacher", show=False, seed=1)
        out[f"{param}_t"] = float(res["statistic"].iloc[0])
        out[f"{param}_p"] = float(res["p-value"].iloc[0])
    return out


cases = {"g10_t3": case(1, 10, 8, 3, 0.0), "g14_t5": case(2, 14, 6, 5, 0.8),
         "g16_t8": case(3, 16, 5, 8, 0.3)}
from importlib.metadata import version  # noqa: E402

json.dump({"wildboottest_version": version("wildboottest"), "cases": cases},
          sys.stdout, indent=1)
sys.stdout.write("\n")
