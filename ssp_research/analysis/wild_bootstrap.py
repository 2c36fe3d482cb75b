"""The restricted wild cluster bootstrap (WCR) for one linear restriction of a (weighted) OLS.

The test of ``H0: r'b = tau`` in ``y = X b + u`` with errors correlated within clusters
(Cameron, Gelbach & Miller 2008; MacKinnon & Webb 2017; the "WCR11" of MacKinnon, Nielsen &
Webb 2023, as ``fwildclusterboot::boottest`` and Stata's ``boottest`` compute it):

1. Fit the model with the null imposed (restricted least squares), residuals ``u~``.
2. For each vector ``v`` of cluster weights (Rademacher +-1, or Webb's six points
   +-sqrt(1/2), +-1, +-sqrt(3/2) when clusters are few), ``y* = X b~ + v[cluster] * u~``.
3. Refit on ``y*`` and compute the cluster-robust (CV1) t statistic of ``r'b* - tau``.
4. The p-value is the share of ``|t*|`` at least as large as the observed ``|t|``
   (symmetric, two-sided). With few clusters every sign vector is enumerated.

The whole bootstrap is done at the level of clusters (Roodman, MacKinnon, Nielsen & Webb
2019, "Fast and wild"): ``r'b* - tau = s'v`` and the clusters' scores of the bootstrap
residuals are ``K v``, with ``s`` (G) and ``K`` (G x G) computed once, so a bootstrap sample
costs O(G^2) whatever the number of observations. Both are linear in ``tau``, so the
confidence interval (the ``tau`` the test does not reject, found by bisection with the same
weights) costs O(B) per step.

Why not a library: ``wildboottest`` (PyPI, also the engine of pyfixest's ``wildboottest``)
ignores regression weights (its ``weights`` are "a placeholder"), tests only ``b_j = 0`` and
gives no confidence interval; its p-values agree with this module's on unweighted models
(tests/reference/wild_bootstrap_reference.py).

Examples
--------
>>> rng = np.random.default_rng(0)
>>> g = np.repeat(np.arange(20), 5)
>>> x = np.column_stack([np.ones(100), g < 10])
>>> y = 0.3 * x[:, 1] + rng.normal(0, 1, 20)[g] + rng.normal(0, 1, 100)
>>> res = wild_cluster_bootstrap(y, x, [0, 1], g, draws=999, seed=1)
>>> res.enumerated, res.draws, res.weights_type
(False, 999, 'rademacher')
>>> bool(res.ci_low < res.estimate < res.ci_high)
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import product

import numpy as np

from ssp_research.core.errors import EstimationError, ParameterError

__all__ = ["WildBootstrapResult", "wild_cluster_bootstrap", "MAX_ENUMERATE", "WEBB_MAX_CLUSTERS",
           "WEBB_POINTS"]

#: Every weight vector is enumerated when there are at most this many.
MAX_ENUMERATE = 2**16
#: With at most this many clusters ``weights_type="auto"`` uses Webb's six-point weights
#: (Rademacher weights give only 2^(G-1) distinct |t*| values; Webb 2023).
WEBB_MAX_CLUSTERS = 12
#: Webb's six-point distribution (each point with probability 1/6): mean 0, variance 1.
WEBB_POINTS = np.array([-math.sqrt(1.5), -1.0, -math.sqrt(0.5), math.sqrt(0.5), 1.0,
                        math.sqrt(1.5)])


@dataclass
class WildBootstrapResult:
    """The test of ``r'b = tau`` and the interval from inverting it.

    Attributes
    ----------
    estimate, se : float
        ``r'b`` (weighted least squares) and its cluster-robust (CV1) standard error.
    t_stat, p_value : float
        The observed t statistic against ``tau`` and its bootstrap p-value.
    ci_low, ci_high : float
        The ``level`` interval by test inversion (NaN when not asked or not bounded).
    weights_type : {"rademacher", "webb"}
    draws : int
        Bootstrap samples (the number of weight vectors).
    enumerated : bool
        Every weight vector was used (the p-value is exact, not a random draw).
    clusters : int
    """

    estimate: float
    se: float
    t_stat: float
    p_value: float
    ci_low: float
    ci_high: float
    weights_type: str
    draws: int
    enumerated: bool
    clusters: int
    level: float = 0.95


def _weights(g: int, weights_type: str, draws: int, seed: int) -> tuple[np.ndarray, bool]:
    """G x B weight vectors: all of them when there are at most :data:`MAX_ENUMERATE`."""
    points = np.array([-1.0, 1.0]) if weights_type == "rademacher" else WEBB_POINTS
    if len(points) ** g <= MAX_ENUMERATE:
        return np.array(list(product(points, repeat=g))).T, True
    rng = np.random.default_rng(seed)
    return points[rng.integers(0, len(points), size=(g, draws))], False


def wild_cluster_bootstrap(y: np.ndarray, x: np.ndarray, r: np.ndarray | list[float],
                           cluster: np.ndarray, *, weights: np.ndarray | None = None,
                           tau: float = 0.0, level: float = 0.95, weights_type: str = "auto",
                           draws: int = 9_999, seed: int = 20261203, ci: bool = True
                           ) -> WildBootstrapResult:
    """Restricted wild cluster bootstrap test of ``r'b = tau`` and its interval.

    Parameters
    ----------
    y : array (n,)
        Outcome.
    x : array (n, k)
        Regressors (full column rank).
    r : array (k,)
        The linear combination tested.
    cluster : array (n,)
        Cluster of each observation (any labels).
    weights : array (n,), optional
        Regression weights (weighted least squares; the bootstrap and the CV1 variance are
        those of the model transformed by ``sqrt(weights)``).
    tau : float
        The value of ``r'b`` under the null (the p-value's).
    level : float
        Level of the interval.
    weights_type : {"auto", "rademacher", "webb"}
        ``"auto"``: Webb with at most :data:`WEBB_MAX_CLUSTERS` clusters, else Rademacher.
    draws : int
        Bootstrap samples when the weight vectors are too many to enumerate.
    seed : int
        Seed of those draws (the same draws for every ``tau`` of the interval).
    ci : bool
        Compute the interval (bisection on ``tau``).

    Returns
    -------
    WildBootstrapResult

    Raises
    ------
    EstimationError
        Fewer than 2 clusters, or ``x`` not of full column rank.
    ParameterError
        Bad shapes, weights or ``weights_type``.

    Notes
    -----
    With ``A = (X'WX)^-1``, ``a = r'A X'W`` (per observation) and ``1_g`` the indicator of
    cluster ``g``: the CV1 variance is ``c Sum_g (a 1_g u)^2``, ``c = G/(G-1) (n-1)/(n-k)``;
    under the null the restricted fit is ``b~ = b - A r (r'A r)^-1 (r'b - tau)``, and for a
    weight vector ``v`` the bootstrap numerator is ``s'v`` with ``s_g = a 1_g u~`` and the
    clusters' scores of the bootstrap residuals are ``(diag(s) - P A Q) v`` with
    ``P_g = a 1_g X`` and ``Q_g = X' W 1_g u~``. In R: ``fwildclusterboot::boottest(fit,
    param =, clustid =, B =, type = "rademacher" | "webb", impose_null = TRUE)`` (WCR11).
    """
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    r = np.asarray(r, dtype=float)
    n = len(y)
    if x.ndim != 2 or x.shape[0] != n or r.shape != (x.shape[1],) or len(cluster) != n:
        raise ParameterError("y, x, r and cluster do not fit together", rule="y (n), x (n, k), "
                             "r (k), cluster (n)", hint="check the shapes")
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (n,) or not np.all(np.isfinite(w) & (w > 0)):
        raise ParameterError("regression weights must be positive numbers, one per row",
                             rule="weights > 0", hint="drop rows with weight 0")
    if weights_type not in ("auto", "rademacher", "webb"):
        raise ParameterError(f"unknown weights_type {weights_type!r}",
                             rule="'auto', 'rademacher' or 'webb'", hint="use 'auto'")
    labels, gidx = np.unique(np.asarray(cluster), return_inverse=True)
    g = len(labels)
    if g < 2:
        raise EstimationError("a cluster bootstrap needs at least 2 clusters", column="cluster",
                              rule="clusters >= 2", hint="use randomisation inference")
    k = x.shape[1]
    if np.linalg.matrix_rank(x) < k:
        raise EstimationError("the regressors are collinear", column="x",
                              rule="full column rank", hint="drop duplicated columns")
    if weights_type == "auto":
        weights_type = "webb" if g <= WEBB_MAX_CLUSTERS else "rademacher"
    sw = np.sqrt(w)
    xs, ys = x * sw[:, None], y * sw
    a_mat = np.linalg.inv(xs.T @ xs)
    a = r @ a_mat @ xs.T                       # (n,): r'A X'W in the transformed model
    beta = a_mat @ (xs.T @ ys)
    est = float(r @ beta)
    ind = np.zeros((g, n))
    ind[gidx, np.arange(n)] = 1.0
    ssc = g / (g - 1) * (n - 1) / max(n - k, 1)
    u_hat = ys - xs @ beta
    se = math.sqrt(ssc * float(np.sum((ind @ (a * u_hat)) ** 2)))
    # restricted residuals, linear in tau: u~(tau) = u0 + tau * e
    ara = float(r @ a_mat @ r)
    shift = a_mat @ r / ara                    # b~(tau) = b - shift * (r'b - tau)
    u0 = ys - xs @ (beta - shift * est)
    e = -(xs @ shift)
    p_mat = ind @ (a[:, None] * xs)            # (G, k)

    def pieces(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = ind @ (a * u)
        q = xs.T @ (u[:, None] * ind.T)        # (k, G)
        return s, np.diag(s) - p_mat @ a_mat @ q

    v, enumerated = _weights(g, weights_type, draws, seed)
    s0, k0 = pieces(u0)
    s1, k1 = pieces(e)
    n0, n1 = s0 @ v, s1 @ v
    c0, c1 = k0 @ v, k1 @ v
    q00, q01, q11 = (c0 * c0).sum(0), (c0 * c1).sum(0), (c1 * c1).sum(0)

    def p_value(t: float) -> tuple[float, float]:
        num = n0 + t * n1
        den = np.sqrt(ssc * np.maximum(q00 + 2 * t * q01 + t * t * q11, 0.0))
        with np.errstate(invalid="ignore", divide="ignore"):
            t_boot = np.abs(num / den)
        t_obs = (est - t) / se if se > 0 else math.inf * np.sign(est - t)
        tol = 1e-10 * max(1.0, abs(t_obs))
        return float(np.mean(np.nan_to_num(t_boot, nan=0.0) >= abs(t_obs) - tol)), t_obs

    p, t_stat = p_value(tau)
    lo = hi = math.nan
    if ci and se > 0:
        lo, hi = _invert(lambda t: p_value(t)[0], est, se, 1 - level)
    return WildBootstrapResult(estimate=est, se=se, t_stat=float(t_stat), p_value=p,
                               ci_low=lo, ci_high=hi, weights_type=weights_type,
                               draws=int(v.shape[1]), enumerated=enumerated, clusters=g,
                               level=level)


def _invert(p, est: float, scale: float, alpha: float) -> tuple[float, float]:
    """The ``tau`` around ``est`` with ``p(tau) > alpha`` (bracketing, then bisection)."""
    bounds = []
    for sign in (-1.0, 1.0):
        inner, outer, grow = est, est + sign * scale, 0
        while p(outer) > alpha:
            inner, outer = outer, outer + sign * scale * 2**grow
            grow += 1
            if grow > 30:
                bounds.append(math.nan)
                break
        else:
            for _ in range(60):
                mid = (inner + outer) / 2
                if p(mid) > alpha:
                    inner = mid
                else:
                    outer = mid
            bounds.append(inner)
    return bounds[0], bounds[1]
