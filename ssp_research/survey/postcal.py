"""Variance adjustments of post-stratified, raked and calibrated designs (R's ``postStrata``).

:mod:`ssp_research.survey.weights` attaches one of these objects to a design for each weighting
step; :meth:`SurveyDesign.vcov` applies them in order (``scores = obj.adjust(scores)``) to
the weighted linearised scores before the strata/cluster formula, exactly as R's
``svyrecvar`` treats the ``postStrata`` list: residuals from the post-strata, the raking
margins or the calibration regression. The variance then reflects the weighting as in R.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

__all__ = ["PostStrata", "Raking", "GregCalibration"]


def _indicator(cells: np.ndarray, ncell: int, rows: np.ndarray | None = None):
    """Sparse (n, ncell) one-hot matrix of the cells (only ``rows`` when given)."""
    data = np.ones(len(cells)) if rows is None else rows.astype(float)
    return sparse.csr_matrix((data, (np.arange(len(cells)), cells)), shape=(len(cells), ncell))


class PostStrata:
    r"""R's post-stratum index with ``weights``/``oldweights`` attributes (``postStratify``).

    Parameters
    ----------
    cells : numpy.ndarray of int
        Post-stratum code 0..C-1 of each row.
    weights, oldweights : numpy.ndarray
        The weights after and before post-stratification.

    Notes
    -----
    ``adjust(x)`` returns :math:`x_i - w_i^* \sum_{j \in c(i)} x_j (w_j / w_j^*) / \hat N_c`
    (:math:`\hat N_c` the old weight total of the cell). Rows with zero weight before and
    after (outside a domain that was post-stratified) are left alone, as in R where
    ``subset()`` of an uncalibrated design drops those rows.

    Examples
    --------
    >>> w_old, w_new = np.array([1.0, 1.0, 2.0]), np.array([2.0, 2.0, 2.0])
    >>> ps = PostStrata(np.array([0, 0, 1]), w_new, w_old)
    >>> ps.adjust(np.array([[1.0], [3.0], [4.0]])).ravel().tolist()  # cell totals become 0
    [-1.0, 1.0, 0.0]
    """

    def __init__(self, cells: np.ndarray, weights: np.ndarray, oldweights: np.ndarray):
        self.cells, self.ncell = cells, int(cells.max()) + 1
        self.psw = weights
        with np.errstate(divide="ignore", invalid="ignore"):
            self.ratio = np.where(weights != 0, oldweights / weights, 0.0)
        self.oldsum = np.bincount(cells, weights=oldweights, minlength=self.ncell)
        self.onehot_t = _indicator(cells, self.ncell).T.tocsr()

    def adjust(self, x: np.ndarray) -> np.ndarray:
        # R: psmeans <- rowsum(x * oldw / psw, cell) / sum(oldw in cell); x - psmeans[cell] * psw
        sums = self.onehot_t @ (x * self.ratio[:, None])
        with np.errstate(divide="ignore", invalid="ignore"):
            means = np.where(self.oldsum[:, None] > 0, sums / self.oldsum[:, None], 0.0)
        return x - means[self.cells] * self.psw[:, None]


class Raking:
    """R's ``raking`` post-strata: ten sweeps of unweighted residualisation per margin.

    R repeats ``x <- x - psw_m * ave(x / psw_m, cell_m)`` ten times over the margins *m*.
    The update is linear and ``psw_m`` is fixed per margin, so the result is
    ``x - sum_m psw_m * A_m[cell_m]`` where the cell means ``A_m`` follow from the cell sums
    of ``x / psw_m`` and the small cross-tables ``K_mj`` of ``psw_j / psw_m`` between margins:
    one pass over the rows per margin instead of ten. Rows with zero weight at raking time
    are left out of the cell means (R had dropped them).

    Parameters
    ----------
    margins : list of (cells, weights)
        Per margin, the cell code of each row and the weights right after that margin's
        post-stratification in the last raking sweep (what R stores).

    Examples
    --------
    >>> cells, w = np.array([0, 0, 1, 1]), np.array([1.0, 2.0, 1.0, 1.0])
    >>> Raking([(cells, w)]).adjust(np.array([[1.0], [2.0], [3.0], [5.0]])).ravel().tolist()
    [0.0, 0.0, -1.0, 1.0]
    """

    sweeps = 10

    def __init__(self, margins: list[tuple[np.ndarray, np.ndarray]]):
        self.cells, self.psw, self.count, self.onehot_t, self.inv = [], [], [], [], []
        for cells, psw in margins:
            keep = psw != 0
            ncell = int(cells.max()) + 1
            self.cells.append(cells)
            self.psw.append(psw)
            self.count.append(np.maximum(np.bincount(cells[keep], minlength=ncell), 1))
            self.inv.append(np.where(keep, 1.0 / np.where(keep, psw, 1.0), 0.0))
            self.onehot_t.append(_indicator(cells, ncell, keep).T.tocsr())
        # K[m][j][c_m, c_j] = sum over rows in (c_m, c_j) of psw_j / psw_m
        self.cross = [
            [(self.onehot_t[m] @ _indicator(self.cells[j], len(self.count[j]))
              .multiply((self.inv[m] * self.psw[j])[:, None]).tocsr()).toarray()
             for j in range(len(margins))]
            for m in range(len(margins))
        ]

    def adjust(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        nm = len(self.cells)
        base = [self.onehot_t[m] @ (x * self.inv[m][:, None]) for m in range(nm)]
        acc = [np.zeros_like(b) for b in base]
        for _ in range(self.sweeps):
            for m in range(nm):
                sums = base[m] - sum(self.cross[m][j] @ acc[j] for j in range(nm))
                acc[m] = acc[m] + sums / self.count[m][:, None]
        out = x.copy()
        for m in range(nm):
            out -= self.psw[m][:, None] * acc[m][self.cells[m]]
        return out


class GregCalibration:
    """R's ``greg_calibration``: residuals of x / w on the calibration matrix, times w.

    Parameters
    ----------
    q : numpy.ndarray, shape (n, p)
        Orthonormal basis (Q of the QR) of the calibration matrix times the square root of
        the design weights before calibration.
    w : numpy.ndarray
        :math:`g_i w_i^{1/2}` (g-weight times root of the old weight).

    Examples
    --------
    >>> X = np.ones((3, 1))
    >>> q, _ = np.linalg.qr(X)
    >>> GregCalibration(q, np.ones(3)).adjust(np.array([[1.0], [2.0], [6.0]])).ravel().tolist()
    [-2.0, -1.0, 3.0]
    """

    def __init__(self, q: np.ndarray, w: np.ndarray):
        self.q, self.w = q, w

    def adjust(self, x: np.ndarray) -> np.ndarray:
        pos = self.w != 0
        z = np.zeros_like(x)
        z[pos] = x[pos] / self.w[pos, None]
        z -= self.q @ (self.q.T @ z)
        return z * self.w[:, None]
