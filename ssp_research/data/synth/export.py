"""Mess, derived columns, truth and files of the synthetic survey (split from ``synth``).

:func:`plant_mess` plants the raw-export anomalies; :func:`derive_columns` computes scales,
indicators and flags by the ``ungdata`` codebook rules; :func:`build_truth` assembles the truth
dictionary (planted parameters, expected and sample prevalences, anomaly counts per export);
:func:`raw_frame` builds the messy raw export; :func:`write_files` writes everything
atomically. Use them through :func:`ssp_research.data.synth.simulate.generate` and
:func:`ssp_research.data.synth.simulate.write`.

Examples
--------
>>> from ssp_research.data import synth
>>> res = synth.generate(rows=1000, seed=2)
>>> res.truth["anomalies"]["csv"]["rows_in_export"] == len(res.raw)
True
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ssp_research.core import paths
from ssp_research.core.atomic import write_atomic
from ssp_research.data.synth.instrument import CLIMATE, DEP, ITEMS, SYNTHETIC_KEY, WAVES

__all__ = [
    "plant_mess", "derive_columns", "build_truth", "raw_frame", "anomaly_counts", "write_files",
]

_MISS = {  # item: (share code 99, share code 98)
    "family_economy": (0.02, 0.06), "health": (0.015, 0.015), "screen_time": (0.02, 0.02),
    "close_friend": (0.015, 0.01), "phys_active": (0.02, 0.01),
}
_OOR = {"lonely": [5, 5, 7], "dep3": [5, 5], "bullied": [7, 7, 7, 0], "close_friend": [5, 5, 6],
        "local_env": [6, 6], "health": [0, 6], "climate2": [6, 7, 6]}


def plant_mess(data: pd.DataFrame, raw: np.ndarray, rng, national: bool) -> dict:
    """Plant missing codes, out-of-range codes, straight-liners, age/grade errors, duplicates.

    Parameters
    ----------
    data : DataFrame
        The tidy frame; its items become NaN where a missing or out-of-range code is planted
        and its ``birth_year`` gets the typos (edited in place).
    raw : ndarray
        The export codes, respondents x ``ITEMS`` (edited in place: 98/99 and bad codes).
    rng : numpy Generator
    national : bool
        No out-of-range codes and no duplicates for the national variant (no raw export).

    Returns
    -------
    dict
        Masks and row indices: ``miss`` (0/98/99 per cell), ``oor`` (bool), ``sl``
        (planted straight-liners), ``ag`` (age/grade typos), ``dup`` (rows copied into the
        export), ``off`` (break-offs), ``raw`` (the export codes).

    Notes
    -----
    Rates: 1.2 % code 99 per item (more, plus code 98, for the items in ``_MISS``); 1 %
    break-offs (all later items 99); 0.6 % planted straight-liners; 0.4 % birth-year typos
    (+-10 years or the survey year); 0.15 % duplicates, copied only from clean rows so that
    every count is the same before and after de-duplication.
    """
    n = len(data)
    col = {c: j for j, c in enumerate(ITEMS)}
    miss = np.zeros(raw.shape, dtype=np.int64)  # 0, 98 or 99
    for c, j in col.items():
        p99, p98 = _MISS.get(c, (0.012, 0.0))
        u = rng.random(n)
        miss[u < p99, j] = 99
        miss[(u >= p99) & (u < p99 + p98), j] = 98
    # break-off: the rest of the questionnaire unanswered
    off = np.flatnonzero(rng.random(n) < 0.01)
    start = rng.integers(8, len(ITEMS), off.size)
    tail = np.arange(len(ITEMS))[None, :] >= start[:, None]
    miss[off] = np.where(tail, 99, miss[off])
    # planted straight-liners in the depressive battery: all six answered and equal
    dep_j = [col[c] for c in DEP]
    sl = np.flatnonzero(rng.random(n) < 0.006)
    raw[np.ix_(sl, dep_j)] = rng.choice([1, 4, 2, 3], size=(sl.size, 1), p=[0.45, 0.35, 0.1, 0.1])
    miss[np.ix_(sl, dep_j)] = 0
    oor = np.zeros(raw.shape, dtype=bool)
    if not national:
        cand = np.flatnonzero(~np.isin(np.arange(n), sl))
        for c, bad in _OOR.items():
            rows = rng.choice(cand, len(bad), replace=False)
            raw[rows, col[c]] = bad
            oor[rows, col[c]] = True
            miss[rows, col[c]] = 0
    raw[miss > 0] = miss[miss > 0]
    tidy = raw.copy()
    tidy[(miss > 0) | oor] = np.nan
    data[ITEMS] = tidy
    # grade/age inconsistent birth years (typos: ten years off, or the survey year)
    ag = np.flatnonzero(rng.random(n) < 0.004)
    by = data["birth_year"].to_numpy().copy()
    kind = rng.integers(0, 3, ag.size)
    by[ag] = np.where(kind == 0, by[ag] - 10, np.where(kind == 1, by[ag] + 10,
                                                       data["wave"].to_numpy()[ag]))
    data["birth_year"] = by
    # duplicates: copies of clean rows (no missing/out-of-range code, no flag)
    clean = ~((miss > 0).any(axis=1) | oor.any(axis=1))
    clean[sl] = False
    clean[ag] = False
    dv = tidy[:, dep_j]
    clean &= ~(np.isfinite(dv).all(axis=1) & (dv == dv[:, :1]).all(axis=1))
    n_dup = 0 if national else max(4, round(n * 0.0015))
    dup = np.sort(rng.choice(np.flatnonzero(clean), n_dup, replace=False))
    return {"miss": miss, "oor": oor, "sl": sl, "ag": ag, "dup": dup, "off": off, "raw": raw}


def _rowmean(x: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Mean of the answered values per row; NaN where ``keep`` is False."""
    answered = np.isfinite(x)
    total = np.where(answered, x, 0.0).sum(axis=1)
    cnt = answered.sum(axis=1)
    return np.where(keep, total / np.maximum(cnt, 1), np.nan)


def derive_columns(data: pd.DataFrame) -> None:
    """Add scales, indicators and quality flags by the ``ungdata`` codebook rules (in place).

    Parameters
    ----------
    data : DataFrame
        Tidy items (float codes, NaN missing; ``climate4`` already reversed).

    Returns
    -------
    None
        Adds ``depressive_mean`` (mean of answered dep items, >= 4 of 6), ``school_climate``
        (>= 3 of 5), the ten ``ind_*`` columns (0/1/NaN), ``flag_straightlining`` (all six dep
        items answered and equal), ``flag_age_grade`` (``|wave - birth_year - (grade + 5)| >
        1``) and ``flag_duplicate`` (False; set by the caller).
    """
    dep = data[DEP].to_numpy()
    ok = np.isfinite(dep).sum(axis=1)
    cl = data[CLIMATE].to_numpy()
    okc = np.isfinite(cl).sum(axis=1)
    data["depressive_mean"] = _rowmean(dep, ok >= 4)
    data["school_climate"] = _rowmean(cl, okc >= 3)

    def ind(src, ok_mask):
        v = data[src].to_numpy()
        return np.where(np.isfinite(v), ok_mask(v).astype(float), np.nan)

    data["ind_lonely"] = ind("lonely", lambda v: np.isin(v, [3, 4]))
    data["ind_depressive"] = ind("depressive_mean", lambda v: v >= 3.0)
    data["ind_bullied"] = ind("bullied", lambda v: np.isin(v, [4, 5, 6]))
    data["ind_close_friend"] = ind("close_friend", lambda v: np.isin(v, [1, 2]))
    data["ind_thriving"] = ind("school_thrive", lambda v: np.isin(v, [1, 2]))
    data["ind_local_env"] = ind("local_env", lambda v: np.isin(v, [1, 2]))
    data["ind_inactive"] = ind("phys_active", lambda v: np.isin(v, [1, 2]))
    data["ind_screen_4h"] = ind("screen_time", lambda v: v == 5)
    data["ind_poor_economy"] = ind("family_economy", lambda v: np.isin(v, [1, 2]))
    data["ind_good_health"] = ind("health", lambda v: np.isin(v, [1, 2]))
    data["flag_straightlining"] = (ok == 6) & np.all(dep == dep[:, :1], axis=1)
    age = data["wave"].to_numpy() - data["birth_year"].to_numpy()
    data["flag_age_grade"] = np.abs(age - (data["grade"].to_numpy() + 5)) > 1
    data["flag_duplicate"] = False


def _prev_table(p: np.ndarray, w: np.ndarray, groups: dict) -> dict:
    """Weighted mean of ``p`` overall and per group (``groups``: key -> (codes, names))."""
    out = {"overall": float((p * w).sum() / w.sum())}
    for key, (idx, names) in groups.items():
        num = np.bincount(idx, weights=p * w, minlength=len(names))
        den = np.bincount(idx, weights=w, minlength=len(names))
        out[key] = {k: float(a / b) for k, a, b in zip(names, num, den) if b > 0}
    return out


def _pilot_truth(p: np.ndarray, p0: np.ndarray, w: np.ndarray, data: pd.DataFrame,
                 start: int) -> dict:
    """ATT and DiD of the expected prevalences on the probability scale."""
    treated = data["pilot"].to_numpy()
    post = data["wave"].to_numpy() >= start
    cell = {}
    for t in (False, True):
        for q in (False, True):
            m = (treated == t) & (post == q)
            cell[(t, q)] = float((p[m] * w[m]).sum() / w[m].sum()) if m.any() else float("nan")
    tp = treated & post
    att = float(((p[tp] - p0[tp]) * w[tp]).sum() / w[tp].sum()) if tp.any() else 0.0
    return {
        "att_prevalence": att,
        "did_expected_prevalence": (cell[(True, True)] - cell[(True, False)])
        - (cell[(False, True)] - cell[(False, False)]),
        "expected_prevalence": {f"{'pilot' if t else 'other'}_{'post' if q else 'pre'}": v
                                for (t, q), v in cell.items()},
    }


def anomaly_counts(m: dict, rows: np.ndarray) -> dict:
    """Planted anomaly counts among the respondents ``rows``.

    Parameters
    ----------
    m : dict
        From :func:`plant_mess`.
    rows : ndarray of bool
        Respondents in the export (all for the CSV, the last wave for the SAV).

    Returns
    -------
    dict
        ``rows_in_export`` (with duplicates), ``respondents``, ``missing_codes``
        (item -> {"98": n, "99": n}), ``out_of_range`` (item -> rows, codes),
        ``break_off_rows``, ``straightlining_planted``, ``age_grade_rows``, ``duplicate_rows``.
    """
    miss, oor, raw = m["miss"][rows], m["oor"][rows], m["raw"][rows]
    isin = rows.__getitem__
    return {
        "rows_in_export": int(rows.sum() + isin(m["dup"]).sum()),
        "respondents": int(rows.sum()),
        "missing_codes": {c: {str(k): int((miss[:, j] == k).sum()) for k in (98, 99)}
                          for j, c in enumerate(ITEMS)},
        "out_of_range": {c: {"rows": int(oor[:, ITEMS.index(c)].sum()),
                             "codes": sorted({int(x) for x in raw[oor[:, ITEMS.index(c)],
                                                                  ITEMS.index(c)]})}
                         for c in _OOR},
        "break_off_rows": int(isin(m["off"]).sum()),
        "straightlining_planted": int(isin(m["sl"]).sum()),
        "age_grade_rows": int(isin(m["ag"]).sum()),
        "duplicate_rows": int(isin(m["dup"]).sum()),
    }


def raw_frame(data: pd.DataFrame, raw_codes: np.ndarray, dup: np.ndarray) -> pd.DataFrame:
    """The messy raw export of all waves.

    Parameters
    ----------
    data : DataFrame
        Tidy frame with plain ids.
    raw_codes : ndarray
        Export codes from :func:`plant_mess`.
    dup : ndarray of int
        Rows to duplicate.

    Returns
    -------
    DataFrame
        ``respondent_id`` (plain), ``wave, municipality, district, school, grade``, ``gender``
        (1 boy, 2 girl), ``birth_year``, ``pilot`` (0/1), ``weight``, the items as int codes
        (``climate4`` as answered, i.e. not reversed); duplicate rows placed after their
        original, at the end of the wave.
    """
    raw = pd.DataFrame({
        "respondent_id": data["respondent_id"].to_numpy(),
        "wave": data["wave"].to_numpy(), "municipality": data["municipality"].to_numpy(),
        "district": data["district"].to_numpy(), "school": data["school"].to_numpy(),
        "grade": data["grade"].to_numpy(),
        "gender": np.where(data["gender"].to_numpy() == "girl", 2, 1),
        "birth_year": data["birth_year"].to_numpy(), "pilot": data["pilot"].to_numpy().astype(int),
        "weight": data["weight"].to_numpy(),
    })
    codes = raw_codes.astype(np.int64)
    j4 = ITEMS.index("climate4")
    valid = (codes[:, j4] >= 1) & (codes[:, j4] <= 5)
    codes[valid, j4] = 6 - codes[valid, j4]  # negatively worded item as answered
    for j, c in enumerate(ITEMS):
        raw[c] = codes[:, j]
    out = pd.concat([raw, raw.iloc[dup]], ignore_index=True)
    return out.sort_values("wave", kind="stable").reset_index(drop=True)


def build_truth(*, params, econ_true, seed, rows, national, sch, cells, data, ind, econ, probs,
                dep, clim_u, mess) -> dict:
    """Assemble the JSON-serialisable truth dictionary.

    Parameters
    ----------
    params
        The planted parameters (:func:`~ssp_research.data.synth.default_params` with overrides).
    econ_true
        ``family_economy`` before item non-response (for the gradient tables).
    seed, rows, national
        The arguments of :func:`ssp_research.data.synth.simulate.generate`.
    sch, cells
        The school table and the wave x school x grade x gender cells.
    data
        The tidy frame (plain ids, before pseudonymisation).
    ind, econ
        Planted parameters per indicator and of ``family_economy``.
    probs
        Model probabilities per indicator (aligned with ``data``).
    dep, clim_u
        Depressive latent intercept/SD/school effects; climate school effects.
    mess
        The planted anomaly masks of :func:`plant_mess`.

    Returns
    -------
    dict
        JSON-serialisable truth (the contents of ``truth.json``).
    """
    w = data["weight"].to_numpy()
    wave_idx = np.searchsorted(WAVES, data["wave"].to_numpy())
    girl = (data["gender"].to_numpy() == "girl").astype(np.int64)
    basic = {"by_wave": (wave_idx, [str(x) for x in WAVES]), "by_gender": (girl, ["boy", "girl"])}
    groups = dict(basic, by_grade=(data["grade"].to_numpy() - 8, ["8", "9", "10"]),
                  by_family_economy=(econ_true.astype(np.int64) - 1, ["1", "2", "3", "4", "5"]))
    probs = dict(probs)
    p0 = probs.pop("_counterfactual")
    pp = params["pilot"]
    for name, p in probs.items():
        ind[name]["expected_prevalence"] = _prev_table(p, w, groups)
    for name in list(ind) + ["depressive", "poor_economy"]:
        x = data[f"ind_{name}"].to_numpy()
        ok = np.isfinite(x)
        ind.setdefault(name, {})["sample_prevalence"] = _prev_table(
            x[ok], np.ones(ok.sum()), {k: (i[ok], n) for k, (i, n) in basic.items()})
    pd_, pc, pe = params["depressive"], params["climate"], params["family_economy"]
    ind["depressive"].update({
        "scale": "depressive_mean", "rule": "mean of dep1-dep6 >= 3.0, >= 4 of 6 answered",
        "target_prevalence": pd_["target"], "latent_intercept": dep["a"],
        "effects": {"girl": pd_["girl"], "grade_step": pd_["grade"],
                    "family_economy_step": pd_["family_economy"], "wave_step": pd_["trend"]},
        "school_sd": dep["sd"], "latent_icc": pd_["icc"],
        "latent_model": "D = a + effects + u_school + logistic noise; "
                        "dep_j = 1 + #(lambda_j*D + delta_j + N(0, sd_e^2) > cuts)",
        "item_loadings": pd_["loadings"], "item_shifts": pd_["shifts"],
        "item_noise_sd": pd_["item_noise_sd"],
        "item_cuts": pd_["cuts"],
        "school_effects": None if national else dict(zip(sch["school"], map(float, dep["u"]))),
    })
    ind["poor_economy"].update(econ)
    ind["poor_economy"].update({"event_codes": [1, 2],
                                "target_prevalence": pe["distribution"][0] + pe["distribution"][1]})
    resp = cells.groupby("wave")["respondents"].sum()
    pup = cells.groupby("wave")["pupils"].sum()
    everyone = np.ones(len(data), dtype=bool)
    truth = {
        "parameters": params,
        "generator": {"module": "ssp_research.data.synth", "seed": seed, "rows": rows,
                      "national": national, "waves": list(WAVES)},
        "model": {
            "indicator": "logit P(ind=1) = intercept + girl*girl + grade_step*(grade-9) + "
                         "family_economy_step*(family_economy-3) + wave_step*(wave-2019)/2 + "
                         "u_school [+ pilot terms for lonely]",
            "items": "cumulative logit on intercept + effects + logistic noise; the threshold "
                     "at the indicator boundary is 0 (thresholds listed in latent-ascending "
                     "order of target_distribution)",
            "latent_icc": "school_sd^2 / (school_sd^2 + pi^2/3)",
            "calibration": "intercepts make the mean model probability over respondents equal "
                           "the target; expected_prevalence is the weighted mean of the model "
                           "probabilities (population value given the school effects)",
        },
        "design": {
            "municipalities": int(sch["municipality"].nunique()),
            "districts": sorted(sch["district"].unique().tolist()),
            "n_schools": int(len(sch)),
            "schools": None if national else [
                {"school": r.school, "district": r.district, "pilot": bool(r.pilot),
                 "pupils_per_grade_base": int(r.size), "response_rate_base": float(r.rr)}
                for r in sch.itertuples()],
            "respondents_by_wave": {str(k): int(x) for k, x in resp.items()},
            "pupils_by_wave": {str(k): int(x) for k, x in pup.items()},
            "response_rate_by_wave": {str(k): float(resp[k] / pup[k]) for k in resp.index},
            "weight": "pupils / respondents in wave x school x grade x gender",
        },
        "indicators": ind,
        "pilot": {"indicator": pp["indicator"], "effect_log_odds": pp["effect"],
                  "baseline_log_odds": pp["baseline"], "start_wave": pp["start_wave"],
                  "schools": sorted(sch.loc[sch["pilot"], "school"].tolist()),
                  **_pilot_truth(probs[pp["indicator"]], p0, w, data, pp["start_wave"]),
                  "note": "pilot is True for pilot schools in every wave; the effect applies "
                          "from start_wave (difference-in-differences estimand). "
                          "att_prevalence = weighted mean of P(with) - P(without programme) "
                          "over pilot pupils from start_wave"},
        "trend": {k: v["effects"]["wave_step"] for k, v in ind.items() if "effects" in v},
        "gender_gap_log_odds": {k: v["effects"]["girl"] for k, v in ind.items()
                                if "effects" in v},
        "social_gradient_log_odds_per_step": {
            k: v["effects"]["family_economy_step"] for k, v in ind.items() if "effects" in v},
        "school_climate": {
            "scale": "school_climate", "school_sd": pc["school_sd"], "person_sd": 1.0,
            "item_noise_sd": pc["item_noise_sd"], "item_shifts": pc["shifts"],
            "cuts": pc["cuts"], "effects": {"girl": pc["girl"],
                                               "family_economy_step": pc["family_economy"]},
            "latent_icc": pc["school_sd"] ** 2 / (pc["school_sd"] ** 2 + 1.0),
            "reverse_item": "climate4 (raw code = 6 - code; tidy stores the reversed code)",
            "school_effects": None if national else dict(zip(sch["school"], map(float, clim_u))),
        },
        "pseudonymisation": {"method": "HMAC-SHA256(key, plain id).hexdigest()",
                             "key": SYNTHETIC_KEY, "env": paths.PSEUDONYM_KEY_ENV},
        "anomalies": {
            "definitions": {
                "missing_codes": "rows with code 98/99 per item in the raw export",
                "out_of_range": "rows with a code outside the codebook per item",
                "straightlining_flagged": "rows with all six dep items answered and equal "
                                          "(planted + natural), = sum(flag_straightlining)",
                "age_grade_rows": "birth_year typos: |wave - birth_year - (grade + 5)| > 1",
                "duplicate_rows": "exact copies of clean rows, placed after the original",
            },
            "straightlining_flagged": int(data["flag_straightlining"].sum()),
            "age_grade_flagged": int(data["flag_age_grade"].sum()),
            "duplicate_flagged": int(data["flag_duplicate"].sum()),
        },
    }
    if not national:
        truth["anomalies"]["csv"] = anomaly_counts(mess, everyone)
        truth["anomalies"]["sav"] = anomaly_counts(mess, data["wave"].to_numpy() == WAVES[-1])
    return truth


def _sav_meta() -> tuple[dict, dict]:
    """Variable labels and value labels (nb) from the built-in ungdata codebook."""
    import yaml

    book = yaml.safe_load(paths.resource_path("codebooks", "ungdata.yml").read_text("utf-8"))
    col_labels, val_labels = {}, {"gender": {1: "Gutt", 2: "Jente"}, "pilot": {0: "Nei", 1: "Ja"}}
    for name, it in book["items"].items():
        col_labels[name] = it["label"]["nb"]
        val_labels[name] = {int(k): v["nb"] for k, v in it["codes"].items()}
        val_labels[name].update({98: "Vet ikke", 99: "Ubesvart"})
    return col_labels, val_labels


def _write_sav(raw: pd.DataFrame, path: str) -> None:
    import pyreadstat

    col_labels, val_labels = _sav_meta()
    pyreadstat.write_sav(raw, path, file_label="Ungdata-stil eksport (syntetisk)",
                         column_labels={c: col_labels.get(c) for c in raw.columns},
                         variable_value_labels=val_labels,
                         missing_ranges={c: [98, 99] for c in ITEMS}, row_compress=True)
    with open(path, "r+b") as fh:  # fixed creation date/time: byte-identical reruns
        fh.seek(92)
        fh.write(b"22 Nov 2600:00:00")


def write_files(result, out_dir=None) -> dict[str, Path]:
    """Write the files of :func:`ssp_research.data.synth.simulate.write` (see there for the roles).

    Parameters
    ----------
    result : SynthResult
    out_dir : path, optional
        Default ``data/synthetic`` of the project (:func:`ssp_research.core.paths.data_dir`).

    Returns
    -------
    dict
        File role -> path.
    """
    out = Path(out_dir) if out_dir is not None else paths.data_dir() / "synthetic"
    suffix = "" if result.name == "trondheim" else f"_{result.name}"
    files = {
        "data": write_atomic(out / f"{result.name}.parquet",
                        lambda p: result.data.to_parquet(p, index=False)),
        "population": write_atomic(out / f"population{suffix}.csv",
                              lambda p: result.population.to_csv(p, index=False)),
        "truth": write_atomic(out / f"truth{suffix}.json", lambda p: Path(p).write_text(
            json.dumps(result.truth, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")),
    }
    if result.raw is not None:
        last = result.raw[result.raw["wave"] == WAVES[-1]].reset_index(drop=True)
        files["sav"] = write_atomic(out / "raw" / f"trondheim_{WAVES[-1]}.sav",
                               lambda p: _write_sav(last, p))
        files["csv"] = write_atomic(
            out / "raw" / f"trondheim_{WAVES[0]}-{WAVES[-1]}.csv",
            lambda p: result.raw.to_csv(p, sep=";", decimal=",", encoding="cp1252",
                                        index=False, lineterminator="\r\n"))
    return files
