"""Synthetic pupil surveys with planted, documented truth (the embedded default dataset).

``generate`` builds a Trondheim-like city (four districts, 25 fictional lower-secondary
schools, grades 8-10, waves 2019-2025, about 6,500 respondents a wave) or, with
``national=True``, a country-like set of ~350 municipalities for benchmarks. ``write`` stores
the tidy data, the population table, the truth file and (for the city) two messy raw exports.
The column contract is ``docs/synthetic_data.md``; the codebook is the built-in ``ungdata``.

The planted model
-----------------
For indicator *k* and pupil *i* in school *s*, wave *w* (``wave_step = (w - 2019) / 2``)::

    eta_ik = a_k + b_girl*girl + b_grade*(grade - 9) + b_econ*(family_economy - 3)
             + b_trend*wave_step + u_ks + b_pilot*pilot_school*(w >= 2023)   [lonely only]
             + c_pilot*pilot_school                                           [lonely only]
    P(indicator = 1) = expit(eta_ik),   u_ks ~ N(0, sigma_k^2)

The item is drawn from a cumulative-logit model on the latent ``eta_ik + logistic noise`` whose
threshold at the indicator's boundary is 0, so the indicator rule of the codebook holds exactly;
the other thresholds reproduce the target answer distribution. The intercept ``a_k`` is
calibrated so that the mean of ``expit(eta_ik)`` over the respondents equals the target.
The latent ICC is ``sigma_k^2 / (sigma_k^2 + pi^2/3)``. The six depressive items are noisy
copies of one latent score ``D = eta + logistic noise`` (``dep_j = cut(lambda_j*D + delta_j +
N(0, sd_e^2))``); ``a`` is calibrated so that *mean >= 3* holds for the target share. The five
school-climate items load on ``C = v_s + N(0, 1)`` (``climate4`` is negatively worded: the raw
code is ``6 - code``). ``family_economy`` comes from a cumulative-logit model with a school
(socio-economic) effect. Every parameter, the school effects, the expected prevalences and
every planted anomaly count go to ``truth``. :func:`default_params` lists the planted
parameters; ``generate(params=...)`` overrides any of them (e.g. remove the pilot effect to
check that an estimator then finds none). ``pilot`` marks the pilot schools in every wave; the
programme (and its effect) starts in 2023. Mess, derived columns, truth and files live in
:mod:`ssp_research.data.synth.export`.

Respondent ids in the tidy data are ``HMAC-SHA256(key, raw_id).hexdigest()`` with the public
synthetic key :data:`SYNTHETIC_KEY` (set ``SSP_PSEUDONYM_KEY`` to it to clean the raw exports
into the same ids); the raw exports carry plain ids such as ``T2025-000123``.

Examples
--------
>>> res = generate(rows=2000, seed=1)
>>> len(res.data), res.data["wave"].unique().tolist()
(2000, [2019, 2021, 2023, 2025])
>>> round(res.truth["indicators"]["lonely"]["target_prevalence"], 2)
0.22
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit
from tqdm.auto import tqdm

from ssp_research.core.errors import ParameterError
from ssp_research.data.synth import export as synth_export
from ssp_research.data.synth.instrument import (
    CLIMATE,
    DEP,
    ITEMS,
    PILOT_START,
    SYNTHETIC_KEY,
    WAVES,
)

__all__ = ["SynthResult", "generate", "write", "default_params", "pseudonymise", "SYNTHETIC_KEY",
           "WAVES"]

# indicator -> (item, its codes in latent-ascending order, number of codes in the event = the
# top of that order). The event of each indicator is the codebook's rule.
_STRUCTURE = {
    "lonely": ("lonely", [1, 2, 3, 4], 2),
    "bullied": ("bullied", [1, 2, 3, 4, 5, 6], 3),
    "close_friend": ("close_friend", [4, 3, 2, 1], 2),
    "thriving": ("school_thrive", [4, 3, 2, 1], 2),
    "local_env": ("local_env", [5, 4, 3, 2, 1], 2),
    "inactive": ("phys_active", [5, 4, 3, 2, 1], 2),
    "screen_4h": ("screen_time", [1, 2, 3, 4, 5], 1),
    "good_health": ("health", [5, 4, 3, 2, 1], 2),
}


def _ind(dist, girl, grade, econ, trend, icc):
    return {"distribution": dist, "girl": girl, "grade": grade, "family_economy": econ,
            "trend": trend, "icc": icc}


# The planted parameters (log-odds; see default_params). distribution: target answer shares in
# the latent-ascending order of _STRUCTURE (the event share is the target prevalence).
_DEFAULTS = {
    "indicators": {
        "lonely": _ind([0.50, 0.28, 0.13, 0.09], 0.55, 0.08, -0.25, -0.04, 0.03),
        "bullied": _ind([0.70, 0.15, 0.07, 0.03, 0.025, 0.025], -0.05, -0.10, -0.20, 0.15, 0.04),
        "close_friend": _ind([0.04, 0.06, 0.30, 0.60], 0.20, 0.0, 0.20, 0.0, 0.02),
        "thriving": _ind([0.05, 0.10, 0.40, 0.45], -0.10, -0.15, 0.20, -0.06, 0.05),
        "local_env": _ind([0.03, 0.05, 0.10, 0.37, 0.45], 0.0, -0.05, 0.25, 0.0, 0.05),
        "inactive": _ind([0.25, 0.40, 0.23, 0.07, 0.05], 0.25, 0.15, -0.20, 0.03, 0.03),
        "screen_4h": _ind([0.08, 0.20, 0.24, 0.20, 0.28], -0.20, 0.20, -0.10, 0.08, 0.03),
        "good_health": _ind([0.01, 0.04, 0.17, 0.40, 0.38], -0.45, -0.10, 0.30, -0.03, 0.02),
    },
    "depressive": {"target": 0.11, "girl": 0.95, "grade": 0.10, "family_economy": -0.30,
                   "trend": 0.04, "icc": 0.03, "item_noise_sd": 1.5,
                   "loadings": [1.0, 0.9, 1.1, 1.0, 0.85, 1.0],
                   "shifts": [0.2, 0.3, 0.0, -0.1, -0.2, 0.4], "cuts": [0.0, 1.9, 3.8]},
    "climate": {"school_sd": 0.27, "family_economy": 0.10, "girl": -0.05, "item_noise_sd": 1.1,
                "shifts": [0.3, 0.5, 0.2, -0.4, 0.1], "cuts": [-2.2, -1.2, -0.3, 0.8]},
    "family_economy": {"distribution": [0.02, 0.05, 0.18, 0.40, 0.35], "school_sd": 0.35,
                       "district_shift": {"Midtbyen": 0.25, "Østbyen": 0.0, "Lerkendal": 0.1,
                                          "Heimdal": -0.25}},
    "pilot": {"indicator": "lonely", "effect": -0.40, "baseline": 0.15, "start_wave": PILOT_START,
              "schools": ["Elvetun skole", "Fjordgløtt skole", "Granlia skole", "Lyngmyra skole",
                          "Løvåsen skole", "Ørnereiret skole", "Kløverenga skole"],
              "national_share": 0.05},
}
_SCHOOLS = [  # fictional names: (school, district, pupils per grade)
    ("Bjørkelia skole", "Midtbyen", 95), ("Elvetun skole", "Midtbyen", 130),
    ("Fjordgløtt skole", "Midtbyen", 28), ("Kirkebakken skole", "Midtbyen", 110),
    ("Månelyset skole", "Midtbyen", 85), ("Sølvsmia skole", "Midtbyen", 120),
    ("Granlia skole", "Østbyen", 140), ("Havørn skole", "Østbyen", 105),
    ("Kvernbekken skole", "Østbyen", 22), ("Lyngmyra skole", "Østbyen", 115),
    ("Nordlys skole", "Østbyen", 90), ("Åkerlund skole", "Østbyen", 125),
    ("Lerkehaugen skole", "Lerkendal", 150), ("Løvåsen skole", "Lerkendal", 100),
    ("Rognebakken skole", "Lerkendal", 35), ("Steinrøysa skole", "Lerkendal", 120),
    ("Storlia skole", "Lerkendal", 135), ("Tyttebærlia skole", "Lerkendal", 80),
    ("Vårsol skole", "Lerkendal", 110), ("Ørnereiret skole", "Heimdal", 145),
    ("Furuhaugen skole", "Heimdal", 125), ("Kløverenga skole", "Heimdal", 40),
    ("Bekkedalen skole", "Heimdal", 115), ("Solhøgda skole", "Heimdal", 130),
    ("Tiurleiken skole", "Heimdal", 105),
]
_CITY_ROWS_PER_WAVE = 6500


@dataclass
class SynthResult:
    """A generated survey: tidy data, population table, truth, and the messy raw frame.

    Attributes
    ----------
    data : DataFrame
        Tidy, clean data (columns of ``docs/synthetic_data.md``), one row per respondent.
    population : DataFrame
        ``wave, district, school, grade, gender, pupils`` (with ``municipality`` when national).
    truth : dict
        Every planted parameter and anomaly count (JSON-serialisable).
    raw : DataFrame or None
        The messy raw export of all waves (plain ids, numeric codes, missing codes 98/99,
        out-of-range codes, duplicate rows, ``climate4`` unreversed); None when national.
    name : str
        ``"trondheim"`` or ``"national"`` (the stem of the written files).
    """

    data: pd.DataFrame
    population: pd.DataFrame
    truth: dict
    raw: pd.DataFrame | None = None
    name: str = "trondheim"


def pseudonymise(ids, key: str = SYNTHETIC_KEY) -> list[str]:
    """Keyed hash of respondent ids: ``HMAC-SHA256(key, id).hexdigest()``.

    Parameters
    ----------
    ids : iterable of str
        Plain ids such as ``"T2025-000123"``.
    key : str
        The key (the public synthetic key by default; real data take it from the environment).

    Returns
    -------
    list of str
        64-character lower-case hex digests.

    Examples
    --------
    >>> pseudonymise(["T2025-000001"])[0][:12]
    '0929a2aebf72'
    """
    k = key.encode("utf-8")
    return [hmac.digest(k, str(i).encode("utf-8"), hashlib.sha256).hex() for i in ids]


def default_params() -> dict:
    """The planted parameters (a fresh copy), the shape that ``generate(params=...)`` overrides.

    Returns
    -------
    dict
        ``indicators`` (per indicator: ``distribution`` = target answer shares in
        latent-ascending order, log-odds effects ``girl``, ``grade`` (per grade),
        ``family_economy`` (per step, centred at 3), ``trend`` (per wave step of two years),
        latent ``icc``); ``depressive`` (latent-score model and items), ``climate``,
        ``family_economy`` and ``pilot`` (``effect`` and ``baseline`` in log-odds,
        ``start_wave``, ``schools``).

    Examples
    --------
    >>> p = default_params()
    >>> p["pilot"]["effect"], p["indicators"]["bullied"]["trend"]
    (-0.4, 0.15)
    """
    return copy.deepcopy(_DEFAULTS)


def _merge(base: dict, over: dict, where: str = "params") -> dict:
    for key, value in over.items():
        if key not in base:
            raise ParameterError(f"unknown synth parameter {where}[{key!r}]", column=key,
                                 hint=f"use one of {sorted(base)} (see synth.default_params())")
        if isinstance(base[key], dict) and isinstance(value, dict):
            _merge(base[key], value, f"{where}[{key!r}]")
        else:
            base[key] = value
    return base


def _icc_sd(icc: float) -> float:
    """School SD on the logit scale for a latent ICC: sigma^2 / (sigma^2 + pi^2/3) = icc."""
    if not 0 <= icc < 1:
        raise ParameterError(f"icc must be in [0, 1), got {icc!r}", column="icc")
    return math.sqrt(icc * (math.pi**2 / 3) / (1 - icc))


def _solve_shift(rest: np.ndarray, target: float) -> float:
    """The s with mean(expit(rest + s)) = target (Newton on a monotone function)."""
    s = math.log(target / (1 - target)) - float(np.mean(rest))
    for _ in range(50):
        p = expit(rest + s)
        f = p.mean() - target
        step = f / max((p * (1 - p)).mean(), 1e-12)
        s -= step
        if abs(step) < 1e-12:
            break
    return float(s)


def _calib_sample(n: int, rng: np.random.Generator, cap: int = 200_000) -> np.ndarray:
    return np.arange(n) if n <= cap else np.sort(rng.choice(n, cap, replace=False))


def _schools(national: bool, rng: np.random.Generator, prm: dict) -> pd.DataFrame:
    """The school table: municipality, district, school, per-grade size, pilot, response rate."""
    if not national:
        sch = pd.DataFrame(_SCHOOLS, columns=["school", "district", "size"])
        sch.insert(0, "municipality", "Trondheim")
        sch["pilot"] = sch["school"].isin(prm["pilot"]["schools"])
        shift = prm["family_economy"]["district_shift"]
        sch["econ_shift"] = sch["district"].map(shift).astype(float)
    else:
        n_mun, n_reg = 350, 20
        mun_size = rng.lognormal(0, 1.1, n_mun)
        n_sch = np.maximum(1, np.round(mun_size / mun_size.sum() * 2100)).astype(int)
        mun = np.repeat(np.arange(n_mun), n_sch)
        region = rng.integers(0, n_reg, n_mun)[mun]
        sch = pd.DataFrame({
            "municipality": [f"Kommune {m + 1:03d}" for m in mun],
            "district": [f"Region {r + 1:02d}" for r in region],
            "school": [f"Skole {j + 1:04d}" for j in range(len(mun))],
            "size": np.clip(rng.lognormal(np.log(60), 0.6, len(mun)), 8, 250),
        })
        sch["pilot"] = rng.random(len(sch)) < prm["pilot"]["national_share"]
        sch["econ_shift"] = rng.normal(0, 0.2, n_reg)[region]
    sch["rr"] = rng.uniform(0.80, 0.92, len(sch))
    return sch


def _cells(sch: pd.DataFrame, rows: int | None, rng: np.random.Generator) -> pd.DataFrame:
    """Population and respondents by wave x school x grade x gender (exact total ``rows``)."""
    w, s, g, k = np.meshgrid(np.arange(len(WAVES)), np.arange(len(sch)), [8, 9, 10], [0, 1],
                             indexing="ij")
    w, s, g, k = w.ravel(), s.ravel(), g.ravel(), k.ravel()
    base = sch["size"].to_numpy(float)[s] * np.where(k == 1, 0.49, 0.51) * (1 + 0.015 * w)
    base = base * rng.lognormal(0, 0.06, base.size)
    rr = np.clip(sch["rr"].to_numpy()[s] + rng.normal(0, 0.03, base.size), 0.70, 0.95)
    expected = base * rr
    total = rows if rows is not None else _CITY_ROWS_PER_WAVE * len(WAVES)
    scale = total / expected.sum()
    exp_resp = expected * scale
    resp = np.floor(exp_resp).astype(np.int64)  # largest remainder: exact total
    short = int(total - resp.sum())
    if short > 0:
        resp[np.argsort(-(exp_resp - resp), kind="stable")[:short]] += 1
    pupils = np.maximum(np.round(base * scale).astype(np.int64), resp)
    cells = pd.DataFrame({
        "wave": np.asarray(WAVES)[w], "s": s, "grade": g, "girl": k,
        "pupils": pupils, "respondents": resp,
    })
    return cells


def _cumlogit(rest, dist, n_event, rng, idx):
    """Draw positions 0..K-1 of a cumulative-logit item; return (positions, a, thresholds)."""
    tails = np.cumsum(np.asarray(dist)[::-1])[::-1][1:]  # P(position >= j), j = 1..K-1
    shifts = np.array([_solve_shift(rest[idx], q) for q in tails])
    a = shifts[len(dist) - n_event - 1]
    thr = a - shifts  # threshold at the event boundary is 0
    latent = a + rest + rng.logistic(size=rest.size)
    return (latent[:, None] > thr[None, :]).sum(axis=1), float(a), thr


def generate(*, rows: int | None = None, national: bool = False, seed: int = 20261122,
             params: dict | None = None) -> SynthResult:
    """Generate a synthetic survey with planted, documented truth.

    Parameters
    ----------
    rows : int, optional
        Total respondents over the four waves (exact). Default: 26,000 for the city
        (about 6,500 a wave) and 1,000,000 when ``national``.
    national : bool
        ~350 municipalities (``municipality``), 20 regions (``district``), ~2,000 schools;
        no raw export (benchmarks).
    seed : int
        Seed of the generator: the same seed gives the same bytes.
    params : dict, optional
        Overrides of the planted parameters, nested as :func:`default_params` (e.g.
        ``{"pilot": {"effect": 0.0}}`` or ``{"indicators": {"lonely": {"icc": 0.0}}}``), to
        check that a method fails when an effect is removed.

    Returns
    -------
    SynthResult
        ``data`` (tidy, columns of ``docs/synthetic_data.md``), ``population``
        (``wave, [municipality,] district, school, grade, gender, pupils``), ``truth`` and
        ``raw`` (city only).

    Notes
    -----
    The model is in the module docstring; ``weight = pupils / respondents`` in the
    wave x school x grade x gender cell, so the weights of a cell sum to its pupils.

    Examples
    --------
    >>> res = generate(rows=3000, seed=7)
    >>> by_wave = res.data.groupby("wave")["weight"].sum()
    >>> pupils = res.population.groupby("wave")["pupils"].sum()
    >>> bool(((by_wave - pupils).abs() < 1e-6).all())
    True
    """
    if rows is not None and (int(rows) != rows or rows < 200):
        raise ParameterError(f"rows must be an integer >= 200, got {rows!r}", column="rows",
                             hint="give the total number of respondents over all four waves")

    if rows is None and national:
        rows = 1_000_000
    rng = np.random.default_rng(seed)
    prm = _merge(default_params(), params or {})
    sch = _schools(national, rng, prm)
    cells = _cells(sch, rows, rng)
    n_sch = len(sch)
    rep = np.repeat(np.arange(len(cells)), cells["respondents"].to_numpy())
    n = rep.size
    wave = cells["wave"].to_numpy()[rep]
    s = cells["s"].to_numpy()[rep]
    grade = cells["grade"].to_numpy()[rep]
    girl = cells["girl"].to_numpy()[rep]
    weight = (cells["pupils"] / cells["respondents"]).to_numpy()[rep]
    step = (wave - WAVES[0]) / 2.0
    pilot_school = sch["pilot"].to_numpy()[s]
    cal = _calib_sample(n, rng)
    truth_ind: dict = {}
    codes: dict[str, np.ndarray] = {}
    probs: dict[str, np.ndarray] = {}

    # family economy: cumulative logit with a school (socio-economic) effect
    pe = prm["family_economy"]
    u_econ = rng.normal(0, pe["school_sd"], n_sch) + sch["econ_shift"].to_numpy()
    pos, a_e, thr_e = _cumlogit(u_econ[s], pe["distribution"], 2, rng, cal)
    codes["family_economy"] = pos + 1
    econ_c = codes["family_economy"] - 3.0
    truth_econ = {"item": "family_economy", "target_distribution": pe["distribution"],
                  "thresholds": thr_e.tolist(), "school_sd": pe["school_sd"],
                  "district_shift": pe["district_shift"] if not national else "random N(0, 0.2)"}

    pp = prm["pilot"]
    bar = tqdm(total=5, desc="synth", unit="stage", disable=not national, leave=False)
    for name, (item, order, n_ev) in _STRUCTURE.items():
        eff = prm["indicators"][name]
        dist = eff["distribution"]
        sd = _icc_sd(eff["icc"])
        u = rng.normal(0, sd, n_sch)
        rest = (eff["girl"] * girl + eff["grade"] * (grade - 9) + eff["family_economy"] * econ_c
                + eff["trend"] * step + u[s])
        if name == pp["indicator"]:
            rest = rest + pp["baseline"] * pilot_school + pp["effect"] * (
                pilot_school & (wave >= pp["start_wave"]))
        pos, a, thr = _cumlogit(rest, dist, n_ev, rng, cal)
        codes[item] = np.asarray(order)[pos]
        probs[name] = expit(a + rest)
        if name == pp["indicator"]:  # the same pupils without the programme
            probs["_counterfactual"] = expit(a + rest - pp["effect"] * (
                pilot_school & (wave >= pp["start_wave"])))
        truth_ind[name] = {
            "item": item, "event_codes": sorted(order[len(order) - n_ev:]),
            "target_prevalence": float(sum(dist[len(dist) - n_ev:])),
            "target_distribution": dict(zip(map(str, order), dist)),
            "intercept": a, "thresholds": thr.tolist(),
            "effects": {"girl": eff["girl"], "grade_step": eff["grade"],
                        "family_economy_step": eff["family_economy"],
                        "wave_step": eff["trend"]},
            "school_sd": sd, "latent_icc": eff["icc"],
            "school_effects": dict(zip(sch["school"], map(float, u))) if not national else None,
        }
    truth_ind[pp["indicator"]]["pilot_effect"] = pp["effect"]
    truth_ind[pp["indicator"]]["pilot_baseline"] = pp["baseline"]

    bar.update()
    # depressive: latent D -> 6 noisy items; calibrate a so that mean >= 3 hits the target
    pd_ = prm["depressive"]
    dsd = _icc_sd(pd_["icc"])
    u_dep = rng.normal(0, dsd, n_sch)
    rest_d = (pd_["girl"] * girl + pd_["grade"] * (grade - 9) + pd_["family_economy"] * econ_c
              + pd_["trend"] * step + u_dep[s] + rng.logistic(size=n))
    noise = rng.normal(0, pd_["item_noise_sd"], (n, 6))
    lam, delta, cuts = (np.asarray(pd_[k], float) for k in ("loadings", "shifts", "cuts"))

    def dep_items(a, idx=slice(None)):
        y = lam * (a + rest_d[idx, None]) + delta + noise[idx]
        return 1 + (y[..., None] > cuts).sum(axis=-1)

    lo, hi = -15.0, 10.0
    cal_d = cal[:: max(1, math.ceil(cal.size / 100_000))]  # spread over all waves
    for _ in range(36):
        mid = (lo + hi) / 2
        share = (dep_items(mid, cal_d).mean(axis=1) >= 3).mean()
        lo, hi = (mid, hi) if share < pd_["target"] else (lo, mid)
    a_dep = (lo + hi) / 2
    dep = dep_items(a_dep)
    for j, c in enumerate(DEP):
        codes[c] = dep[:, j]

    # school climate battery
    pc = prm["climate"]
    v = rng.normal(0, pc["school_sd"], n_sch)
    clat = v[s] + pc["family_economy"] * econ_c + pc["girl"] * girl + rng.normal(0, 1, n)
    yc = (clat[:, None] + np.asarray(pc["shifts"], float)
          + rng.normal(0, pc["item_noise_sd"], (n, 5)))
    clim = 1 + (yc[..., None] > np.asarray(pc["cuts"], float)).sum(axis=-1)
    for j, c in enumerate(CLIMATE):
        codes[c] = clim[:, j]  # positive direction (= the tidy, reversed climate4)

    bar.update()
    # ids, birth years, assembled tidy frame (before missingness)
    order_in_wave = np.empty(n, dtype=np.int64)
    for wv in WAVES:  # random submission order within a wave
        m = np.flatnonzero(wave == wv)
        order_in_wave[m] = rng.permutation(m.size) + 1
    prefix = "N" if national else "T"
    plain_ids = np.char.add(np.char.add(f"{prefix}", wave.astype(str)),
                            np.char.add("-", np.char.zfill(order_in_wave.astype(str), 6)))
    birth = wave - grade - 6 + (rng.random(n) < 0.03)
    sort = np.lexsort((order_in_wave, wave))
    mun, dist_, school = (sch[c].to_numpy() for c in ("municipality", "district", "school"))
    data = pd.DataFrame({
        "respondent_id": plain_ids, "wave": wave.astype(np.int64), "municipality": mun[s],
        "district": dist_[s], "school": school[s], "grade": grade.astype(np.int64),
        "gender": np.where(girl == 1, "girl", "boy"), "birth_year": birth.astype(np.int64),
        "pilot": pilot_school.astype(bool), "weight": weight,
        **{c: codes[c].astype(float) for c in ITEMS},
    })
    data = data.iloc[sort].reset_index(drop=True)
    probs = {k: p[sort] for k, p in probs.items()}
    raw_codes = data[ITEMS].to_numpy(float).copy()

    bar.update()
    mess = synth_export.plant_mess(data, raw_codes, rng, national)
    synth_export.derive_columns(data)
    data.loc[mess["dup"], "flag_duplicate"] = True
    raw = None if national else synth_export.raw_frame(data, raw_codes, mess["dup"])
    truth = synth_export.build_truth(
        params=prm, econ_true=econ_c[sort] + 3, seed=seed, rows=len(data), national=national,
        sch=sch, cells=cells, data=data,
        ind=truth_ind, econ=truth_econ, probs=probs, dep=dict(a=a_dep, sd=dsd, u=u_dep),
        clim_u=v, mess=mess)
    bar.update()
    data["respondent_id"] = pseudonymise(data["respondent_id"].to_numpy(object))
    data = data.astype({"respondent_id": "str", "municipality": "str", "district": "str",
                        "school": "str", "gender": "str"})
    pop = cells.assign(school=school[cells["s"]], district=dist_[cells["s"]],
                       municipality=mun[cells["s"]],
                       gender=np.where(cells["girl"] == 1, "girl", "boy"))
    cols = ["wave"] + (["municipality"] if national else []) + [
        "district", "school", "grade", "gender", "pupils"]
    pop = pop[cols].sort_values(cols[:-1], kind="stable").reset_index(drop=True)
    bar.update()
    bar.close()
    return SynthResult(data, pop, truth, raw, "national" if national else "trondheim")


def write(result: SynthResult, out_dir=None) -> dict[str, Path]:
    """Write the tidy data, population, truth and (city) raw exports, atomically.

    Parameters
    ----------
    result : SynthResult
        From :func:`generate`.
    out_dir : path, optional
        Target folder; default ``data/synthetic`` of the project
        (:func:`ssp_research.core.paths.data_dir`).

    Returns
    -------
    dict
        File role -> path: ``data`` (``<name>.parquet``), ``population``, ``truth`` and, for the
        city, ``sav`` (``raw/trondheim_2025.sav``, the last wave) and ``csv``
        (``raw/trondheim_2019-2025.csv``: ``;``, decimal comma, cp1252, CRLF).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     files = write(generate(rows=1000, seed=3), d)
    ...     sorted(files)
    ['csv', 'data', 'population', 'sav', 'truth']
    """

    return synth_export.write_files(result, out_dir)
