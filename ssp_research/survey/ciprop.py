"""Confidence intervals for proportions exactly as R's ``svyciprop`` (survey 4.1.1), private.

"logit", "xlogit", "asin", "mean" and "beta" (Korn-Graubard) are vectorised over domains;
"likelihood" reproduces ``confint(svyglm(y ~ 1, quasibinomial), method="likelihood")`` step
by step (glm's IRLS, the design variance of the estimating function, the rescaled profile on
R's grid, R's "fmm" spline and linear inverse interpolation), one domain at a time.
"wilson" (not in survey 4.1.1) uses the design-effective sample size.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from ssp_research.survey.domains import critical_value

__all__: list[str] = []


def prop_ci(method, p, v, df, level, nrow, **ctx):
    """Confidence limits of proportions, vectorised over domains (R's svyciprop)."""
    a = 1 - level
    t = critical_value(level, df)
    se = np.sqrt(v)
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "mean":
            return p - t * se, p + t * se
        if method in ("logit", "xlogit"):
            eta = np.log(p / (1 - p))
            h = t * se / (p * (1 - p))
            return _expit(eta - h), _expit(eta + h)
        if method == "asin":
            eta = np.arcsin(np.sqrt(p))
            h = t * se / (2 * np.sqrt(p * (1 - p)))
            return np.sin(eta - h) ** 2, np.sin(eta + h) ** 2
        if method == "beta":
            neff = p * (1 - p) / v
            neff = neff * (stats.t.ppf(a / 2, nrow - 1) / stats.t.ppf(a / 2, df)) ** 2
            lo = stats.beta.ppf(a / 2, neff * p, neff * (1 - p) + 1)
            hi = stats.beta.ppf(1 - a / 2, neff * p + 1, neff * (1 - p))
            return lo, hi  # p = 0 or 1 has v = 0: NaN, as R
        if method == "wilson":
            neff = p * (1 - p) / v
            t2 = t**2
            centre = (p + t2 / (2 * neff)) / (1 + t2 / neff)
            half = t / (1 + t2 / neff) * np.sqrt(p * (1 - p) / neff + t2 / (4 * neff**2))
            return centre - half, centre + half
    return _likelihood_ci(p, v, df, level, **ctx)


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def _likelihood_ci(p, v, df, level, *, design, y, ok, dom, ndom):
    """R's ``confint(svyglm(y ~ 1, quasibinomial), method="likelihood")``, per domain.

    Follows survey 4.1.1 step by step so that the limits agree with R: glm's IRLS for the
    intercept (R's working weights are those of the last iteration), the design variance of
    its estimating function, the rescaled profile (``MASSprofile_glm``) on R's grid, R's
    "fmm" spline through it and linear inverse interpolation (``confint_profile``).
    """
    lo = np.full(ndom, np.nan)
    hi = np.full(ndom, np.nan)
    w = design.weights
    in_dom = (w > 0) & (dom >= 0)
    for d in np.flatnonzero(np.isfinite(v) & (v > 0) & (p > 0) & (p < 1)):
        rows = np.ones(len(w), dtype=bool) if design.calibrated else in_dom & (dom == d)
        m = ok & (dom == d)
        pw_all = w[rows] / w[rows].mean()
        pw = np.zeros(len(w))
        pw[rows] = pw_all
        yy, ww = y[m], pw[m]
        beta, mu_prev, dev_hat = _irls_intercept(yy, ww)
        mu = _expit(beta)
        work_w = ww * mu_prev * (1 - mu_prev)
        a_inv = 1.0 / work_w.sum()
        score = np.zeros(len(w))
        score[m] = (yy - mu) / (mu * (1 - mu)) * work_w * a_inv
        var_beta = float(design.vcov(score, present=in_dom & (dom == d))[0, 0])
        lam = var_beta / a_inv
        # dispersion: svyvar of the Pearson residuals over the model rows
        # residuals.svyglm: (y - mu) sqrt(prior weight / rescaled design weight) / sqrt(V(mu))
        pwts = w[m] / (w.sum() / len(w) if design.calibrated else w[m].mean())
        r = (yy - mu) * np.sqrt(ww / pwts) / np.sqrt(mu * (1 - mu))
        wd = w[m]
        nobs = int((wd != 0).sum())
        rbar = np.sum(wd * r) / wd.sum()
        disp = np.sum(wd * (r - rbar) ** 2 * nobs / (nobs - 1)) / wd.sum()
        alpha = stats.norm.cdf(stats.t.ppf((1 - level) / 2, df[d]) * np.sqrt(lam)) / 2
        # sqrt(qf(alpha, 1, n - 1, upper)), stable; n is the glm's model frame: on a
        # calibrated design every row with an answer (R keeps the others at weight 0)
        n_model = int(np.count_nonzero(~np.isnan(y))) if design.calibrated else len(yy)
        zmax = stats.t.isf(alpha / 2, n_model - 1)
        step_size = zmax / 5 * np.sqrt(var_beta)
        s1, s0 = np.sum(ww * yy), np.sum(ww * (1 - yy))

        def zval(b, s1=s1, s0=s0, dev_hat=dev_hat, disp=disp):
            mu_b = _expit(b)
            dev = -2 * (s1 * np.log(mu_b) + s0 * np.log(1 - mu_b))
            return max((dev - dev_hat) / disp, 0.0)

        bs, zs = [beta], [0.0]
        for sgn in (-1, 1):
            z, step = 0.0, 0
            while True:
                step += 1
                if not (step < 10 and abs(z) < zmax):
                    break
                b = beta + sgn * step * step_size
                z = sgn * np.sqrt(zval(b))
                bs.append(b)
                zs.append(z)
        order = np.argsort(zs, kind="stable")
        bx, zy = np.asarray(bs)[order], np.asarray(zs)[order]
        sx, sy = _r_spline_fmm(bx, zy, 3 * len(bx))
        cut = np.array([-1.0, 1.0]) * abs(stats.norm.ppf(2 * alpha))
        ci = _r_approx(sy, sx, cut)
        lo[d], hi[d] = _expit(ci[0]), _expit(ci[1])
    return lo, hi


def _irls_intercept(y, pw, eps=1e-8, maxit=25):
    """R's glm.fit for y ~ 1, binomial(logit): final beta, the mu of the last iteration's
    working weights, and the deviance."""

    def deviance(mu):
        return float(-2 * np.sum(pw * (y * np.log(mu) + (1 - y) * np.log(1 - mu))))

    mu = (pw * y + 0.5) / (pw + 1)
    eta = np.log(mu / (1 - mu))
    dev_old = deviance(mu)
    beta = float(eta[0])
    for _ in range(maxit):
        mu_eta = np.maximum(mu * (1 - mu), np.finfo(float).eps)
        z = eta + (y - mu) / mu_eta
        wt = pw * mu_eta**2 / (mu * (1 - mu))
        mu_prev = mu
        beta = float(np.sum(wt * z) / np.sum(wt))
        eta = np.full(len(y), beta)
        mu = _expit(eta)
        dev = deviance(mu)
        if abs(dev - dev_old) / (abs(dev) + 0.1) < eps:
            break
        dev_old = dev
    return beta, mu_prev, dev


def _r_seq(a, b, n):
    """R's seq.int(a, b, length.out = n)."""
    out = np.empty(n)
    out[0], out[-1] = a, b
    by = (b - a) / (n - 1)
    i = np.arange(1, n - 1)
    out[1:-1] = np.where(i < n // 2, a + i * by, b - (n - 1 - i) * by)
    return out


def _r_spline_fmm(x, y, n):
    """R's ``spline(x, y, n, method="fmm")`` (Forsythe, Malcolm and Moler end conditions)."""
    x, y = _r_regularize(x, y)
    m = len(x)
    b, c, d = np.zeros(m), np.zeros(m), np.zeros(m)
    if m < 3:
        b[:] = (y[1] - y[0]) / (x[1] - x[0])
    else:
        nm1 = m - 1
        d[0] = x[1] - x[0]
        c[1] = (y[1] - y[0]) / d[0]
        for i in range(1, nm1):
            d[i] = x[i + 1] - x[i]
            b[i] = 2.0 * (d[i - 1] + d[i])
            c[i + 1] = (y[i + 1] - y[i]) / d[i]
            c[i] = c[i + 1] - c[i]
        b[0], b[nm1] = -d[0], -d[m - 2]
        c[0] = c[nm1] = 0.0
        if m > 3:
            c[0] = c[2] / (x[3] - x[1]) - c[1] / (x[2] - x[0])
            c[nm1] = c[m - 2] / (x[nm1] - x[m - 3]) - c[m - 3] / (x[m - 2] - x[m - 4])
            c[0] = c[0] * d[0] * d[0] / (x[3] - x[0])
            c[nm1] = -c[nm1] * d[m - 2] * d[m - 2] / (x[nm1] - x[m - 4])
        for i in range(1, m):
            t = d[i - 1] / b[i - 1]
            b[i] = b[i] - t * d[i - 1]
            c[i] = c[i] - t * c[i - 1]
        c[nm1] = c[nm1] / b[nm1]
        for i in range(m - 2, -1, -1):
            c[i] = (c[i] - d[i] * c[i + 1]) / b[i]
        b[nm1] = (y[nm1] - y[m - 2]) / d[m - 2] + d[m - 2] * (c[m - 2] + 2.0 * c[nm1])
        for i in range(nm1):
            b[i] = (y[i + 1] - y[i]) / d[i] - d[i] * (c[i + 1] + 2.0 * c[i])
            d[i] = (c[i + 1] - c[i]) / d[i]
            c[i] = 3.0 * c[i]
        c[nm1] = 3.0 * c[nm1]
        d[nm1] = d[m - 2]
    xout = _r_seq(x[0], x[-1], n)
    idx = np.clip(np.searchsorted(x, xout, side="right") - 1, 0, m - 1)
    dx = xout - x[idx]
    return xout, y[idx] + dx * (b[idx] + dx * (c[idx] + dx * d[idx]))


def _r_regularize(x, y):
    """R's regularize.values(x, y, mean): sort by x, average y over tied x."""
    order = np.argsort(x, kind="stable")
    x, y = np.asarray(x)[order], np.asarray(y)[order]
    ux, inv = np.unique(x, return_inverse=True)
    if len(ux) == len(x):
        return x, y
    return ux, np.bincount(inv, weights=y) / np.bincount(inv)


def _r_approx(x, y, xout):
    """R's ``approx(x, y, xout)$y`` (linear, NA outside the range)."""
    x, y = _r_regularize(x, y)
    out = np.full(len(xout), np.nan)
    for k, v in enumerate(xout):
        if np.isnan(v) or v < x[0] or v > x[-1]:
            continue
        i, j = 0, len(x) - 1
        while i < j - 1:
            ij = (i + j) // 2
            if v < x[ij]:
                j = ij
            else:
                i = ij
        if v == x[j]:
            out[k] = y[j]
        elif v == x[i]:
            out[k] = y[i]
        else:
            out[k] = y[i] + (y[j] - y[i]) * ((v - x[i]) / (x[j] - x[i]))
    return out
