"""Paired comparisons: two methodologies (or two results files) over the same cells.

Methodologies of one suite run see the same datasets, and a cell of one results file has the
same dataset as the cell of the same key in another (the scenario and the seed make the
dataset). So they are compared cell by cell: for each quality metric, the per-cell
difference :math:`d_i = \\text{new}_i - \\text{base}_i` over the cells both sides finished,

.. math::

    \\bar d = \\frac{1}{n} \\sum_i d_i, \\qquad
    \\mathrm{SE} = \\frac{s_d}{\\sqrt n}, \\qquad
    t = \\frac{\\bar d}{\\mathrm{SE}} \\sim t_{n-1}, \\qquad
    \\bar d \\pm t_{1-\\alpha/2,\\,n-1}\\,\\mathrm{SE}.

The dataset-to-dataset spread, which dominates a figure such as the regret, cancels in
:math:`d_i`; two independent means (``compare.quality_change``) keep it in both noise bands.

**The verdict is the paired t-test**, Holm-adjusted over every metric judged at once. The
exact alternative, the sign-flip permutation test (under no difference, each :math:`d_i`
is as likely to be :math:`-d_i`; all :math:`2^n` sign vectors are enumerated up to 16
cells), is shown beside it but does not decide: its smallest two-sided p-value is
:math:`2/2^n`, so with fewer than 6 cells it cannot reach 5% whatever the data, and a
3-seed suite would be blind by construction. Where the two p-values disagree, the t verdict
leans on the differences being roughly normal; the reader sees it. Per-cell 0/1 figures
(exact matches) make that assumption poor: read their sign-flip p. One exception: when every
cell moved by the same amount (no spread, common with 0/1 figures on few cells) the t
statistic is undefined, and the exact sign-flip p decides instead of a t p of 0 that would
flag any shift on two cells; the row says so.

Multiplicity: a comparison judges many metrics (and methodologies) at once. Each raw p is
kept and the verdict uses Holm's step-down adjustment over the whole family, which holds the
chance of any false "worse" or "better" at :math:`\\alpha` under any dependence between the
metrics (Holm 1979, *Scand. J. Statist.* 6: 65-70).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from bayestune.bench.cell import COUNTS, QUALITY, RUNTIME
from bayestune.bench.power import min_detectable

EXACT_SIGN_FLIP_MAX = 16
"""Up to this many cells the sign-flip test enumerates all 2^n sign vectors (exact)."""
SIGN_FLIP_DRAWS = 20_000
"""Beyond it, this many random sign vectors (seed 0) estimate the p-value."""


def quality_metrics(*payloads: dict[str, Any]) -> dict[str, str]:
    """Every quality metric with its direction (``"lower"`` or ``"higher"`` is better).

    The payloads' own ``definitions`` come first, so a results file that defines a metric this
    version does not know is still judged; runtime figures and trial counts are not quality.
    """
    out = {name: better for name, (better, _) in QUALITY.items()}
    for payload in payloads:
        for name, d in (payload.get("definitions") or {}).items():
            if name not in RUNTIME and name not in COUNTS and d.get("better") in ("lower", "higher"):
                out.setdefault(name, d["better"])
    return out


def unit(cell: dict[str, Any]) -> tuple[str, int]:
    """The dataset of a cell: its scenario and its seed (what pairs two cells)."""
    return Path(cell["cell"]["scenario"]).stem, int(cell["cell"]["seed"])


def unit_name(u: tuple[str, int]) -> str:
    return f"{u[0]}/seed{u[1]}"


@dataclass(frozen=True)
class Pairing:
    """Cells of two sides matched by scenario and seed, whatever order they are stored in."""

    pairs: list[tuple[tuple[str, int], dict[str, Any], dict[str, Any]]]
    only_base: list[str]
    only_new: list[str]
    failed: list[str]
    """Cells present on both sides but failed on one or both: left out of the differences."""

    def notes(self, label: str, base: str = "BASE", new: str = "NEW") -> list[str]:
        out = []
        for side, keys in ((base, self.only_base), (new, self.only_new)):
            if keys:
                out.append(f"{label}: {', '.join(keys)} only in {side}: left out of the paired differences")
        if self.failed:
            out.append(f"{label}: {', '.join(self.failed)} failed on a side: left out of the paired differences")
        return out


def pair_cells(base_cells: Iterable[dict[str, Any]], new_cells: Iterable[dict[str, Any]]) -> Pairing:
    """Match cells by (scenario, seed); cells on one side only, or failed, are named, not paired."""
    b = {unit(c): c for c in base_cells}
    n = {unit(c): c for c in new_cells}
    pairs, failed = [], []
    for u in sorted(set(b) & set(n)):
        if b[u]["status"] == "ok" and n[u]["status"] == "ok":
            pairs.append((u, b[u], n[u]))
        else:
            failed.append(unit_name(u))
    return Pairing(pairs, [unit_name(u) for u in sorted(set(b) - set(n))],
                   [unit_name(u) for u in sorted(set(n) - set(b))], failed)


@dataclass(frozen=True)
class PairedTest:
    """One metric's paired difference NEW - BASE over the cells both sides have."""

    metric: str
    better: str
    n: int
    base_mean: float | None = None
    new_mean: float | None = None
    mean: float | None = None
    sd: float | None = None
    se: float | None = None
    low: float | None = None
    high: float | None = None
    p_t: float | None = None
    p_sign_flip: float | None = None
    p_holm: float | None = None
    detectable: float | None = None
    """The smallest |difference| the t-test finds with the stated power at these cells."""
    verdict: str = "not judged"  # "worse", "better", "same", "not judged"
    no_spread: bool = False
    """Every cell moved by the same amount: ``p_t`` is the exact sign-flip p, not a t-test's."""

    @property
    def judged(self) -> bool:
        return self.p_t is not None

    def detail(self, level: float) -> str:
        if not self.judged:
            return f"needs at least 2 paired cells with the figure ({self.n})"
        assert self.mean is not None and self.low is not None and self.high is not None
        if self.no_spread:
            text = (f"{self.mean:+.3g} in every one of {self.n} cells (no spread: no t-test, the exact sign-flip "
                    f"p decides); p {_p(self.p_sign_flip)} sign-flip, {_p(self.p_holm)} Holm")
        else:
            text = (f"{self.mean:+.3g} [{self.low:+.3g}, {self.high:+.3g}] ({level:.0%} t interval, {self.n} cells); "
                    f"p {_p(self.p_t)} t, {_p(self.p_sign_flip)} sign-flip, {_p(self.p_holm)} Holm")
        if self.detectable is not None:
            text += f"; detectable ±{self.detectable:.3g}"
        return text


def _p(p: float | None) -> str:
    if p is None:
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def sign_flip_p(d: Sequence[float]) -> float:
    """Two-sided p-value of the mean under random sign flips (exact up to 16 values)."""
    x = np.asarray(d, dtype=float)
    if not np.any(x):
        return 1.0
    exact = len(x) <= EXACT_SIGN_FLIP_MAX
    res = stats.permutation_test((x,), lambda v, axis: np.mean(v, axis=axis), permutation_type="samples",
                                 vectorized=True, alternative="two-sided",
                                 n_resamples=2 ** len(x) if exact else SIGN_FLIP_DRAWS, rng=np.random.default_rng(0))
    return float(res.pvalue)


def paired_test(metric: str, better: str, base: Sequence[float | None], new: Sequence[float | None], *,
                alpha: float, power: float, detail: bool = True) -> PairedTest:
    """The paired statistics of one metric; pairs where either side lacks the figure are dropped.
    ``detail`` False skips what is shown but decides nothing: the sign-flip p where the t-test
    decides, and the smallest detectable difference (for judges run many times over)."""
    pairs = [(float(b), float(n)) for b, n in zip(base, new, strict=True)
             if b is not None and n is not None and math.isfinite(float(b)) and math.isfinite(float(n))]
    if len(pairs) < 2:
        return PairedTest(metric, better, len(pairs))
    b = np.array([p[0] for p in pairs])
    nv = np.array([p[1] for p in pairs])
    d = nv - b
    n, mean = len(d), float(d.mean())
    sd = float(d.std(ddof=1))
    no_spread = sd <= 1e-12 * max(1.0, abs(mean))
    p_flip = sign_flip_p(d) if detail or no_spread else None
    if no_spread:  # every cell moved by the same amount: t is undefined (its p would be 0 on any n)
        sd = 0.0
        p_t, low, high = p_flip, mean, mean
        assert p_t is not None
    else:
        se = sd / math.sqrt(n)
        p_t = float(2 * stats.t.sf(abs(mean) / se, n - 1))  # the one-sample t-test of mean 0
        half = float(stats.t.ppf(1 - alpha / 2, n - 1)) * se
        low, high = mean - half, mean + half
    return PairedTest(metric, better, n, float(b.mean()), float(nv.mean()), mean, sd, sd / math.sqrt(n), low, high,
                      p_t, p_flip, None,
                      min_detectable(sd, n, alpha=alpha, power=power) if sd > 0 and detail else None,
                      no_spread=no_spread)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def judge(tests: Sequence[PairedTest], alpha: float) -> list[PairedTest]:
    """Holm-adjust the family of judged tests and give each its verdict (per metric direction)."""
    judged = [i for i, t in enumerate(tests) if t.judged]
    adjusted = holm([tests[i].p_t for i in judged])  # type: ignore[misc]
    out = list(tests)
    for i, p in zip(judged, adjusted, strict=True):
        t = tests[i]
        assert t.mean is not None
        verdict = "same"
        if p < alpha and abs(t.mean) > 1e-12:
            worse = t.mean > 0 if t.better == "lower" else t.mean < 0
            verdict = "worse" if worse else "better"
        out[i] = replace(t, p_holm=p, verdict=verdict)
    return out


LOG_SCALE = frozenset({"gap_ratio"})
"""Ratios whose paired differences are taken on the log scale where a judge names them
(:func:`primary_tests`): a ratio's spread grows with its size, so one world whose test/train
ratio jumps from 1 to 20 would otherwise swamp the t-test's standard error."""


def one_sided_worse(t: PairedTest) -> float:
    """The one-sided p-value of "NEW is worse" from a two-sided paired test (symmetric null)."""
    assert t.p_t is not None and t.mean is not None
    worse = t.mean > 0 if t.better == "lower" else t.mean < 0
    return t.p_t / 2 if worse else 1 - t.p_t / 2


def judge_worse(tests: Sequence[PairedTest], alpha: float) -> list[PairedTest]:
    """Holm over the judged tests' one-sided p-values of "worse": the verdict is ``"worse"``
    or ``"same"``, and the chance of any false *worse* over the family is at most ``alpha``
    (``p_holm`` holds the adjusted one-sided p)."""
    judged = [i for i, t in enumerate(tests) if t.judged]
    adjusted = holm([one_sided_worse(tests[i]) for i in judged])
    out = list(tests)
    for i, p in zip(judged, adjusted, strict=True):
        t = tests[i]
        out[i] = replace(t, p_holm=p, verdict="worse" if p < alpha and abs(t.mean or 0.0) > 1e-12 else "same")
    return out


def primary_tests(pairing: Pairing, primary: Sequence[str], metrics: dict[str, str], *, alpha: float,
                  power: float, detail: bool = True) -> list[PairedTest]:
    """The paired tests of the ``primary`` metrics (those in :data:`LOG_SCALE` on the log scale,
    their names prefixed ``log ``), not yet judged: see :func:`judge_worse`."""
    out = []
    for name in primary:
        values = ([b["metrics"].get(name) for _, b, _ in pairing.pairs], [n["metrics"].get(name) for _, _, n in pairing.pairs])
        label = name
        if name in LOG_SCALE:
            values = tuple([math.log(v) if v is not None and v > 0 else None for v in side] for side in values)
            label = f"log {name}"
        out.append(paired_test(label, metrics.get(name, "lower"), *values, alpha=alpha, power=power,
                               detail=detail))
    return out


def paired_tests(pairing: Pairing, metrics: dict[str, str], *, alpha: float, power: float) -> list[PairedTest]:
    """Every metric's paired test over ``pairing`` (not yet Holm-adjusted: see :func:`judge`)."""
    return [paired_test(name, better, [b["metrics"].get(name) for _, b, _ in pairing.pairs],
                        [n["metrics"].get(name) for _, _, n in pairing.pairs], alpha=alpha, power=power)
            for name, better in metrics.items()]


def chance_line(tests: Sequence[PairedTest], alpha: float) -> str:
    """How many tests were judged, how many raw p fall below alpha, and how many chance alone gives."""
    judged = [t for t in tests if t.judged]
    raw = sum(t.p_t is not None and t.p_t < alpha for t in judged)
    return (f"{len(judged)} paired tests judged at alpha {alpha:g}, two-sided, Holm-adjusted over all of them; "
            f"{raw} with raw p < {alpha:g}, where chance alone would give about {alpha * len(judged):.1f}")


@dataclass(frozen=True)
class Contrast:
    """One methodology against another within one suite run: NEW - BASE over their common cells."""

    new: str
    base: str
    against: str
    """``"reference"`` or ``"default"``: which table of the summary it belongs to."""
    cells: int
    tests: list[PairedTest]


def default_and_reference(payload: dict[str, Any]) -> tuple[str | None, str | None]:
    """The default methodology (the first one the gate checks) and the reference (the seed recipe)."""
    suite = payload.get("suite", {})
    ran = list(dict.fromkeys(c["cell"]["methodology"] for c in payload["cells"]))
    declared = suite.get("methodology") or {}
    reference = next((m for m in ran if (declared.get(m) or {}).get("reference")), None)
    gated = (suite.get("gate") or {}).get("methodologies") or ["default"]
    default = next((m for m in gated if m in ran and m != reference), None)
    return default, reference


def suite_contrasts(payload: dict[str, Any], *, alpha: float, power: float) -> list[Contrast]:
    """Every methodology against the reference, and every other one against the default
    (planted mutants and reruns aside: :mod:`bayestune.bench.catch` judges each on its own).

    The default against the reference is shown once (default - reference), not mirrored.
    All contrasts of a run form one family for the Holm adjustment.
    """
    default, reference = default_and_reference(payload)
    declared = payload.get("suite", {}).get("methodology") or {}
    ran = [m for m in dict.fromkeys(c["cell"]["methodology"] for c in payload["cells"])
           if not (declared.get(m) or {}).get("mutant")]  # planted mutants are judged apart (bench/catch.py)
    wanted = [(m, reference, "reference") for m in ran if reference and m != reference]
    wanted += [(m, default, "default") for m in ran if default and m not in (default, reference)]
    metrics = quality_metrics(payload)
    raw = []
    for new, base, against in wanted:
        pairing = pair_cells([c for c in payload["cells"] if c["cell"]["methodology"] == base],
                             [c for c in payload["cells"] if c["cell"]["methodology"] == new])
        raw.append((new, base, against, len(pairing.pairs), paired_tests(pairing, metrics, alpha=alpha, power=power)))
    family = judge([t for *_, tests in raw for t in tests], alpha)
    out = []
    for new, base, against, n, tests in raw:
        out.append(Contrast(new, base, against, n, family[:len(tests)]))
        family = family[len(tests):]
    return out
