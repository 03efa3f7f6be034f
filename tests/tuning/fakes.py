"""Fake fitters for the orchestration tests, named in a config by import path
(``fitter = "tests.tuning.fakes:FakeFitter"``): the study, its workers and resumes run the
real loop with sampling replaced through the fitter seam.

Every fit is logged in :data:`FITS` (seed, a weak reference to the fitted object), so tests
can count fits, check seeds and check that no fit outlives its fold.
"""

from __future__ import annotations

import json
import weakref
from dataclasses import replace
from pathlib import Path

import numpy as np

from bayestune.tuning.gate import Diagnostics
from bayestune.tuning.model import Timings

FITS: list[tuple[int, weakref.ref]] = []
"""(seed, weak reference to the fitted object) of every fit made in this process."""
ALIVE_AT_FIT: list[int] = []
"""How many earlier fits were still alive when each fit started."""
WINDOWS: list[tuple[object, int, int]] = []
"""(candidate, seed, number of weeks fitted) of every fit made in this process."""


class Fitted:
    def __init__(self, candidate, seed):
        self.candidate = candidate
        self.seed = seed


class FakeFitter:
    """Predicts the observed target shifted by 100 per Fourier order, with N(0, 300) noise."""

    rhat = 1.0
    ess = 1000.0
    fail_l_max: int | None = None

    def fit(self, candidate, columns, data, settings, seed):
        if candidate.l_max == self.fail_l_max:
            raise FloatingPointError("NaN in the log density at initialisation")
        ALIVE_AT_FIT.append(sum(ref() is not None for _, ref in FITS))
        fitted = Fitted(candidate, seed)
        FITS.append((seed, weakref.ref(fitted)))
        WINDOWS.append((candidate, seed, len(data)))
        return fitted, Timings(build=0.1, compile=0.2, sample=0.3)

    def predict(self, fitted, columns, data, *, seed, out_of_sample):
        rng = np.random.default_rng(seed)
        centre = data[columns.target].to_numpy() + 100 * fitted.candidate.yearly_seasonality
        return centre + rng.normal(0, 300, size=(200, len(data))), 0.05

    def diagnose(self, fitted):
        return Diagnostics(divergence_rate=0.0, max_rhat=self.rhat, min_ess_bulk=self.ess, min_ess_tail=1000.0,
                           n_draws=120, n_chains=2, worst_rhat_var="adstock_alpha[tv]",
                           worst_ess_var="saturation_lam[tv]")

    def save(self, fitted, path, seed):
        Path(path).write_text(json.dumps({"candidate": fitted.candidate.to_dict(), "seed": seed}))

    def release(self):
        """Nothing to free: a fake fit holds no reference cycle, so dropping it frees it (no
        ``gc.collect``, which costs about 0.4 s a call once PyMC is imported)."""


class FailsOnLMax3(FakeFitter):
    """Raises like a sampler would for every structure with ``l_max == 3``."""

    fail_l_max = 3


class PassesSearchFailsStrict(FailsOnLMax3):
    """Search fits pass the lenient gate (R-hat 1.02 <= 1.10), production fits fail the strict one
    (R-hat 1.02 > 1.01); structures with ``l_max == 3`` raise."""

    rhat = 1.02


class Ess31(FakeFitter):
    """Every fit's smallest bulk ESS is 31: below the lenient gate's 50."""

    ess = 31.0


class Sleepy(FakeFitter):
    """Each fit takes 50 ms, so parallel workers' trials overlap and finish together."""

    seconds = 0.05

    def fit(self, candidate, columns, data, settings, seed):
        import time

        time.sleep(self.seconds)
        return super().fit(candidate, columns, data, settings, seed)


class SlowFit(Sleepy):
    """Each fit takes a second: long enough for a kill to land inside a trial."""

    seconds = 1.0


class Rhat14(FakeFitter):
    rhat = 1.4


class Rhat15(FakeFitter):
    rhat = 1.5


class NoDiagnose:
    """Lacks ``diagnose``: not a fitter."""

    def fit(self, candidate, columns, data, settings, seed): ...

    def predict(self, fitted, columns, data, *, seed, out_of_sample): ...

    def save(self, fitted, path, seed): ...

    def release(self): ...


class WrongPredict(FakeFitter):
    """``predict`` without the keyword arguments the seam passes."""

    def predict(self, fitted, columns, data):  # type: ignore[override]
        return super().predict(fitted, columns, data, seed=0, out_of_sample=True)


class TruthShaped(FakeFitter):
    """Predictions worse the further a structure lies from quickstart's truth (Fourier order 2,
    ``l_max`` 6), shaped like a real fit's in the three ways the planted mutants break:

    - held out (``out_of_sample``): the observed target less 120 per unit of distance
      from the truth, with N(0, 150) spread;
    - in sample, on weeks from the series' start (the fit saw them): no bias, and a spread
      that shrinks as the structure grows (a richer model follows seen weeks more closely);
    - predicted without carry-over (not out of sample, yet starting inside the series): the
      held-out bias, minus the adstock the window's first ``l_max`` weeks lose (700 decaying by
      half a week), so a longer ``l_max`` loses more.
    """

    TRUE = (2, 6)

    def predict(self, fitted, columns, data, *, seed, out_of_sample):
        rng = np.random.default_rng(seed)
        c = fitted.candidate
        observed = data[columns.target].to_numpy().astype(float)
        if not out_of_sample and data.index[0] == 0:
            spread = 400.0 / (1 + c.yearly_seasonality + c.l_max / 2)
            return observed + rng.normal(0, spread, size=(200, len(data))), 0.05
        distance = abs(c.yearly_seasonality - self.TRUE[0]) + abs(c.l_max - self.TRUE[1])
        centre = observed - 120.0 * distance
        if not out_of_sample:
            lost = np.zeros(len(data))
            k = min(c.l_max, len(data))
            lost[:k] = 700.0 * 0.5 ** np.arange(k)
            centre = centre - lost
        return centre + rng.normal(0, 150, size=(200, len(data))), 0.05


class NamedSampler(FakeFitter):
    """Says which sampler it runs, whatever the config's ``sampler``."""

    sampler_name = "fake-nuts"


class LFOFake(FakeFitter):
    """A fake with the log-likelihood PSIS-LFO needs: a level ``theta`` whose 400 draws are
    N(window mean, 200), weeks N(theta, ``sigma``). A small ``sigma`` makes the likelihood of
    newly observed weeks peaked, so the importance weights degenerate and k̂ is large."""

    sigma = 300.0

    def fit(self, candidate, columns, data, settings, seed):
        fitted, timings = super().fit(candidate, columns, data, settings, seed)
        level = float(data[columns.target].mean())
        fitted.theta = level + np.random.default_rng(seed).normal(0, 200, 400)
        return fitted, timings

    def predict(self, fitted, columns, data, *, seed, out_of_sample):
        noise = np.random.default_rng(seed).normal(0, self.sigma, size=(fitted.theta.size, len(data)))
        return fitted.theta[:, None] + noise, 0.05

    def log_likelihood(self, fitted, columns, data):
        from scipy.stats import norm

        return norm.logpdf(data[columns.target].to_numpy()[None, :], fitted.theta[:, None], self.sigma)


class LFOPeaked(LFOFake):
    sigma = 60.0


class LFOFlat(LFOFake):
    sigma = 1e7


class FlakyGate(FakeFitter):
    """Every odd-numbered fit of a fitter object (its first, third, ...) fails the gate with
    R-hat 1.3: a fold refitted once passes; ``[gate] retries = 0`` prunes every trial."""

    def fit(self, candidate, columns, data, settings, seed):
        fitted, timings = super().fit(candidate, columns, data, settings, seed)
        self.made = getattr(self, "made", 0) + 1
        fitted.bad = self.made % 2 == 1
        return fitted, timings

    def diagnose(self, fitted):
        diag = super().diagnose(fitted)
        return replace(diag, max_rhat=1.3) if fitted.bad else diag


class LFOFlakyGate(FlakyGate, LFOFake):
    """:class:`FlakyGate` with PSIS-LFO's log-likelihood."""
