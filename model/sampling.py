"""Uncertain inputs: distributions declared in a scenario, and reproducible draws from them.

A scenario entry declares a distribution over its value (``low``/``high`` alone: uniform;
``dist = "triangular" | "normal" | "lognormal" | "uniform"`` with the numbers each needs).
Draws start in the unit hypercube (Latin hypercube, scrambled Sobol' sequence or plain
random), optionally receive rank correlations through a Gaussian copula, and are mapped to
values through each distribution's inverse CDF.

Every draw is a pure function of (method, seed, total count, row index): any range of rows
can be drawn on its own, so an ensemble runs in blocks, on other machines, or resumes after
an interruption, and always sees the same samples.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

DISTRIBUTIONS = ("uniform", "triangular", "normal", "lognormal")
METHODS = ("lhs", "sobol", "random")
DRAW_CHUNK = 2**16
"""Rows drawn together from one random stream; streams are keyed by chunk index, so the
draws of a row never depend on which block asks for it."""
FEISTEL_ROUNDS = 6
"""Rounds of the keyed permutation that assigns Latin-hypercube strata (four make a
pseudo-random permutation; six leave a margin)."""


class DistributionError(ValueError):
    """A distribution or correlation that cannot be used; ``str()`` says what was expected."""


@dataclass(frozen=True)
class Distribution:
    """One uncertain input, in SI base units as given (a growth rate still compound here).

    uniform: ``low``..``high``; triangular: ``low``, ``mode``, ``high``; normal: mean
    ``center`` and standard deviation ``sd``, truncated to ``low``/``high`` where given;
    lognormal: median ``center`` and standard deviation ``sd`` of the value itself,
    truncated to ``low``/``high`` where given.
    """

    kind: str
    center: float
    low: float | None = None
    high: float | None = None
    mode: float | None = None
    sd: float | None = None

    def __post_init__(self) -> None:
        problem = self.problem()
        if problem:
            raise DistributionError(problem)

    def problem(self) -> str | None:
        """Why the numbers do not make this distribution, or None."""
        if self.kind not in DISTRIBUTIONS:
            return f"dist {self.kind!r} is not one of {', '.join(DISTRIBUTIONS)}"
        has_bounds = self.low is not None and self.high is not None
        if (self.low is None) != (self.high is None) and self.kind in ("uniform", "triangular"):
            return f"a {self.kind} distribution needs both low and high"
        if self.kind in ("uniform", "triangular") and not has_bounds:
            return f"a {self.kind} distribution needs low and high"
        if self.low is not None and self.high is not None and not self.low < self.high:
            return "expected low < high"
        if self.kind == "triangular":
            if self.mode is None:
                return "a triangular distribution needs a mode"
            if not self.low <= self.mode <= self.high:  # type: ignore[operator]
                return "the mode is outside low..high"
        if self.kind in ("normal", "lognormal"):
            if self.sd is None:
                return f"a {self.kind} distribution needs sd (its standard deviation)"
            if not self.sd > 0:
                return "sd must be greater than zero"
        if self.kind == "lognormal":
            if not self.center > 0:
                return "a lognormal distribution needs a value (its median) above zero"
            if self.low is not None and self.low < 0:
                return "a lognormal distribution cannot reach below zero; expected low >= 0"
        if self.kind in ("normal", "lognormal"):
            lo, hi = self.support
            if not lo <= self.center <= hi:
                return "expected low <= value <= high"
        return None

    @property
    def support(self) -> tuple[float, float]:
        """Smallest and largest value a draw can take."""
        lo = -math.inf if self.kind == "normal" else 0.0
        lo = lo if self.low is None else self.low
        hi = math.inf if self.high is None else self.high
        return lo, hi

    def _frozen(self):
        from scipy import stats

        if self.kind == "normal":
            return stats.norm(self.center, self.sd)
        sigma = lognormal_sigma(self.center, self.sd)  # type: ignore[arg-type]
        return stats.lognorm(sigma, scale=self.center)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Values at the quantiles ``u`` (0..1), SI base units as given."""
        u = np.asarray(u, dtype=float)
        if self.kind == "uniform":
            return self.low + (self.high - self.low) * u  # type: ignore[operator]
        if self.kind == "triangular":
            a, c, b = self.low, self.mode, self.high
            split = (c - a) / (b - a)  # type: ignore[operator]
            left = a + np.sqrt(u * (b - a) * (c - a))  # type: ignore[operator]
            right = b - np.sqrt((1.0 - u) * (b - a) * (b - c))  # type: ignore[operator]
            return np.where(u < split, left, right)
        frozen = self._frozen()
        lo, hi = self.support
        if self.low is not None or self.high is not None:  # truncated: rescale the quantiles
            c_lo = float(frozen.cdf(lo)) if math.isfinite(lo) else 0.0
            c_hi = float(frozen.cdf(hi)) if math.isfinite(hi) else 1.0
            u = c_lo + (c_hi - c_lo) * u
        return np.clip(frozen.ppf(u), lo, hi)

    def describe(self, fmt=str) -> dict[str, str]:
        """The declaration in words, values passed through ``fmt`` (for provenance records)."""
        out = {"dist": self.kind}
        for name in ("low", "mode", "high", "sd"):
            value = getattr(self, name)
            if value is not None:
                out[name] = fmt(value)
        if self.kind in ("normal", "lognormal"):
            out["mean" if self.kind == "normal" else "median"] = fmt(self.center)
        return out


def lognormal_sigma(median: float, sd: float) -> float:
    """Shape sigma of the lognormal with this median and standard deviation.

    With x = exp(sigma^2), variance = median^2 x (x - 1), so x = (1 + sqrt(1 + 4 r)) / 2
    for r = (sd / median)^2.
    """
    r = (sd / median) ** 2
    return math.sqrt(math.log(0.5 * (1.0 + math.sqrt(1.0 + 4.0 * r))))


# --- correlations ------------------------------------------------------------------------------

def correlation_matrix(keys: Sequence[str], pairs: Mapping[tuple[str, str], float]) -> np.ndarray:
    """Rank (Spearman) correlation matrix over ``keys`` from pairwise values; identity elsewhere.

    Raises :class:`DistributionError` when a value is outside -1..1 or the matrix is not
    positive definite (the pairs contradict each other).
    """
    index = {k: i for i, k in enumerate(keys)}
    matrix = np.eye(len(keys))
    for (a, b), rho in pairs.items():
        if not -1.0 < rho < 1.0:
            raise DistributionError(f"rank correlation {rho} of {a} and {b}: expected a value "
                                    "strictly between -1 and 1")
        matrix[index[a], index[b]] = matrix[index[b], index[a]] = rho
    if pairs and np.linalg.eigvalsh(normal_correlation(matrix)).min() <= 1e-10:
        raise DistributionError("the correlations do not form a valid correlation matrix "
                                "(not positive definite: some pairs contradict each other)")
    return matrix


def normal_correlation(rank: np.ndarray) -> np.ndarray:
    """Pearson correlation of the Gaussian copula that yields the rank correlation ``rank``:
    r = 2 sin(pi rho_s / 6) (Pearson K., 1907; as used by Iman R. & Conover W., 1982)."""
    out = 2.0 * np.sin(np.pi * rank / 6.0)
    np.fill_diagonal(out, 1.0)
    return out


def correlate(u: np.ndarray, rank: np.ndarray | None) -> np.ndarray:
    """Give the columns of ``u`` (rows are samples, uniform on 0..1) the rank correlation
    ``rank`` through a Gaussian copula; each row is transformed on its own."""
    if rank is None or np.allclose(rank, np.eye(rank.shape[0])):
        return u
    from scipy.special import ndtr, ndtri

    lower = np.linalg.cholesky(normal_correlation(rank))
    z = ndtri(np.clip(u, 1e-300, 1.0 - 1e-16))
    return ndtr(z @ lower.T)


# --- draws in the unit hypercube ---------------------------------------------------------------

def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser (Steele G. et al., 2014): a bijective hash of uint64."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def keyed_permutation(index: np.ndarray, n: int, key: int) -> np.ndarray:
    """pi(index) for a pseudo-random permutation pi of 0..n-1 chosen by ``key``.

    A balanced Feistel network on the smallest even number of bits covering ``n``, with cycle
    walking for values >= n (Black J. & Rogaway P., 2002): any entry of the permutation is
    computed without building the rest.
    """
    bits = max(2, (int(n - 1).bit_length() + 1) // 2 * 2)
    half = bits // 2
    mask = np.uint64((1 << half) - 1)
    with np.errstate(over="ignore"):
        keys = _mix(np.arange(1, FEISTEL_ROUNDS + 1, dtype=np.uint64)
                    + np.uint64(key % 2**63) * np.uint64(0x9E3779B97F4A7C15))

        def encrypt(x: np.ndarray) -> np.ndarray:
            left, right = x >> np.uint64(half), x & mask
            for k in keys:
                left, right = right, left ^ (_mix(right ^ k) & mask)
            return (left << np.uint64(half)) | right

        out = encrypt(np.asarray(index, dtype=np.uint64))
        pending = np.flatnonzero(out >= np.uint64(n))  # the values still walking
        while pending.size:
            walked = encrypt(out[pending])
            out[pending] = walked
            pending = pending[walked >= np.uint64(n)]
    return out.astype(np.int64)


def _random_rows(seed: int, stream: int, start: int, stop: int, d: int) -> np.ndarray:
    """Rows start..stop of an endless table of uniform draws, keyed by (seed, stream)."""
    rows = []
    for chunk in range(start // DRAW_CHUNK, (stop - 1) // DRAW_CHUNK + 1):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream, chunk)))
        table = rng.random((DRAW_CHUNK, d))
        a = max(start - chunk * DRAW_CHUNK, 0)
        b = min(stop - chunk * DRAW_CHUNK, DRAW_CHUNK)
        rows.append(table[a:b])
    return np.concatenate(rows) if rows else np.empty((0, d))


def unit_draws(method: str, seed: int, n: int, d: int, start: int = 0,
               stop: int | None = None) -> np.ndarray:
    """Rows ``start``..``stop`` of an ``n`` x ``d`` design in the unit hypercube.

    lhs: a Latin hypercube (one row in each of the ``n`` strata of every column), strata
    assigned by a keyed permutation per column; sobol: a scrambled Sobol' sequence
    (scipy.stats.qmc.Sobol, fast-forwarded to ``start``); random: independent uniforms.
    """
    stop = n if stop is None else stop
    if method not in METHODS:
        raise DistributionError(f"method {method!r}: expected one of {', '.join(METHODS)}")
    if d == 0 or stop <= start:
        return np.empty((max(stop - start, 0), d))
    if method == "random":
        return _random_rows(seed, 0, start, stop, d)
    if method == "sobol":
        import warnings

        from scipy.stats import qmc

        engine = qmc.Sobol(d, scramble=True, rng=np.random.default_rng(seed))
        if start:
            engine.fast_forward(start)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # balance warnings for counts not powers of two
            return engine.random(stop - start)
    rows = np.arange(start, stop)
    jitter = _random_rows(seed, 1, start, stop, d)
    strata = np.stack([keyed_permutation(rows, n, seed * 1_000_003 + j) for j in range(d)],
                      axis=1)
    return (strata + jitter) / n


def draw(distributions: Sequence[Distribution], u: np.ndarray) -> np.ndarray:
    """Map unit-hypercube rows to values column by column (inverse CDF); shape kept."""
    out = np.empty_like(u)
    for j, dist in enumerate(distributions):
        out[:, j] = dist.ppf(u[:, j])
    return out


def sample(distributions: Sequence[Distribution], method: str, seed: int, n: int,
           rank: np.ndarray | None = None, start: int = 0,
           stop: int | None = None) -> np.ndarray:
    """Rows ``start``..``stop`` of ``n`` correlated draws, one column per distribution."""
    u = unit_draws(method, seed, n, len(distributions), start, stop)
    return draw(distributions, correlate(u, rank))
