"""P(match) from the P(interview) of the programs applied to, and its derivative per program.

This is what the signal planner maximizes. **Objective.** The model's P(match) per
specialty, P_s = sum_k P(K_s = k) g_s(k), K_s the Poisson-binomial number of interviews over
the programs on the list and g_s(k) the saturating match curve truncated at k_max (the pmf of
`analysis.model.probability.poisson_binomial_pmf`, `analysis.data.reference.match_curve`),
and the dual-apply combination P(match anywhere) = 1 - prod_s (1 - P_s).
`match_chances(..., signals=...)` computes the same numbers.

**Derivative.** P_s is linear in each p_j: with a_j the pmf of the interviews from the other
programs (the generating function divided by (1 - p_j + p_j z)), P_s = A_j + p_j D_j,
D_j = sum_k a_j[k] (g(k+1) - g(k)) >= 0. The division runs forward when p_j <= 1/2 and
backward otherwise, so no step amplifies rounding errors (`interview_derivative`).

Both are compiled (numba) recurrences: one pass over the programs, O(n k_max) per list.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit

from analysis.data.reference import match_curve


def match_given_interviews(specialty: str) -> np.ndarray:
    """g(k) = P(match | k interviews), k = 0..k_max (the last entry holds for k >= k_max)."""
    curve = match_curve(specialty)
    return np.asarray(curve.p_match_given(np.arange(curve.k_max + 1)), dtype=float)


def p_match_from_interviews(p: np.ndarray, g: np.ndarray) -> np.ndarray:
    """The engine's P(match) in one specialty from P(interview) of the programs applied to.

    Vectorized over leading axes of `p` (programs on the last axis): sum_k P(K = k) g(k),
    with the interview count's pmf truncated at len(g) - 1 (the tail in the last bin), as
    `analysis.model.probability.match_chances` computes it (there with a product tree, here
    with the same pmf by a compiled recurrence: one pass over the programs, O(n k_max)).
    """
    g = np.asarray(g, dtype=float)
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    if p.ndim == 0:
        p = p.reshape(1)
    lead = p.shape[:-1]
    rows = np.ascontiguousarray(p.reshape(int(np.prod(lead, dtype=int)), p.shape[-1]))
    return _p_match_rows(rows, g).reshape(lead)


def p_match_any(p_match: Sequence[float] | np.ndarray) -> float:
    """Dual applying: P(match anywhere) = 1 - prod(1 - P_s) over the specialties ranked."""
    return float(1.0 - np.prod(1.0 - np.asarray(p_match, dtype=float)))


def interview_derivative(p: np.ndarray, g: np.ndarray) -> np.ndarray:
    """dP(match)/dp_j for every program j: sum_k a_j[k] (g(k+1) - g(k)).

    a_j is the pmf of the interviews from the other programs; only its degrees below k_max
    matter (the curve is flat beyond). It is the generating function divided by
    (1 - p_j + p_j z), done so that no step amplifies rounding errors:

    - p_j <= 1/2: forward on the whole list's pmf b (exact below k_max),
      a_j[k] = (b[k] - p_j a_j[k-1]) / (1 - p_j), each step scaling errors by p_j/(1-p_j) <= 1;
    - p_j > 1/2: backward on the exact pmf H of the m programs above 1/2 (degree m),
      h_j[k-1] = (H[k] - (1 - p_j) h_j[k]) / p_j, then a_j = h_j * L with L the pmf of the
      others, so D_j = sum_v h_j[v] w[v], w[v] = sum_u L[u] dg[u + v].

    Compiled (numba): O(n k_max + m (m + k_max)) per list, memory O(n + m).
    """
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    return derivative_rows(p[None, :], np.asarray(g, dtype=float))[0]


def derivative_rows(rows: np.ndarray, g: np.ndarray) -> np.ndarray:
    """`interview_derivative` of several lists at once (rows x programs)."""
    rows = np.ascontiguousarray(np.clip(np.asarray(rows, dtype=float), 0.0, 1.0))
    g = np.asarray(g, dtype=float)
    if rows.shape[1] == 0 or g.size < 2:
        return np.zeros(rows.shape)
    return _derivative_kernel(rows, np.diff(g))


@njit(cache=True, nogil=True)
def _p_match_rows(rows: np.ndarray, g: np.ndarray) -> np.ndarray:  # pragma: no cover - numba
    """sum_k P(K = k) g(k) per row, K's pmf truncated at len(g) - 1 with the tail in the last
    bin (the recurrence adds one program at a time; mass never flows to lower degrees)."""
    count, n = rows.shape
    width = g.size
    out = np.zeros(count)
    if width == 1:  # every outcome is in the one bin
        out[:] = g[0]
        return out
    pmf = np.zeros(width)
    for r in range(count):
        pmf[:] = 0.0
        pmf[0] = 1.0
        top = 0  # highest degree reached so far
        for i in range(n):
            q = rows[r, i]
            if q <= 0.0:
                continue
            if top < width - 1:
                top += 1
            k = top
            if k == width - 1:  # the tail bin keeps its mass and gains from the one below
                pmf[k] = pmf[k] + pmf[k - 1] * q if k > 0 else pmf[k]
                k -= 1
            while k > 0:
                pmf[k] = pmf[k] * (1.0 - q) + pmf[k - 1] * q
                k -= 1
            pmf[0] *= 1.0 - q
        total = 0.0
        for k in range(width):
            total += pmf[k] * g[k]
        out[r] = total
    return out


@njit(cache=True, nogil=True)
def _derivative_kernel(rows: np.ndarray, dg: np.ndarray) -> np.ndarray:  # pragma: no cover
    """dP/dp_j per row and program (see `interview_derivative`)."""
    count, n = rows.shape
    depth = min(dg.size, n)
    out = np.zeros((count, n))
    low_pmf = np.zeros(depth)  # L: programs at or below 1/2, exact below depth
    for r in range(count):
        p = rows[r]
        m = 0
        for j in range(n):
            if p[j] > 0.5:
                m += 1
        big = np.zeros(m + 1)  # H: programs above 1/2, exact (degree m)
        big[0] = 1.0
        low_pmf[:] = 0.0
        low_pmf[0] = 1.0
        seen = 0
        for j in range(n):
            q = p[j]
            if q > 0.5:
                seen += 1
                for k in range(seen, 0, -1):
                    big[k] = big[k] * (1.0 - q) + big[k - 1] * q
                big[0] *= 1.0 - q
            elif q > 0.0:
                for k in range(depth - 1, 0, -1):
                    low_pmf[k] = low_pmf[k] * (1.0 - q) + low_pmf[k - 1] * q
                low_pmf[0] *= 1.0 - q
        # b = L * H below depth; w[v] = sum_{u < depth - v} L[u] dg[u + v]
        b = np.zeros(depth)
        for u in range(depth):
            for v in range(min(m, depth - 1 - u) + 1):
                b[u + v] += low_pmf[u] * big[v]
        width = min(m, depth)
        w = np.zeros(max(width, 1))
        for v in range(width):
            acc = 0.0
            for u in range(depth - v):
                acc += low_pmf[u] * dg[u + v]
            w[v] = acc
        for j in range(n):
            q = p[j]
            if q <= 0.5:  # forward division of b by (1 - q + q z)
                a = 0.0
                acc = 0.0
                for k in range(depth):
                    a = (b[k] - q * a) / (1.0 - q)
                    acc += a * dg[k]
                out[r, j] = acc if acc > 0.0 else 0.0
            else:  # backward division of H by (1 - q + q z), then against L
                h = big[m] / q  # h[m-1]
                acc = 0.0
                for k in range(m - 1, -1, -1):
                    if k < width:
                        acc += h * w[k]
                    if k > 0:
                        h = (big[k] - (1.0 - q) * h) / q
                out[r, j] = acc if acc > 0.0 else 0.0
    return out
