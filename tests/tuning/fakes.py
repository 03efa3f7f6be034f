"""Fake fitters for the orchestration tests, named in a config by import path
(``fitter = "tests.tuning.fakes:FakeFitter"``): the study, its workers and resumes run the
real loop with sampling replaced through the fitter seam.

Every fit is logged in :data:`FITS` (seed, a weak reference to the fitted object), so tests
can count fits, check seeds and check that no fit outlives its fold.
"""

from __future__ import annotations

import json
import weakref
from pathlib import Path

import numpy as np

from bayestune.tuning.gate import Diagnostics
from bayestune.tuning.model import Timings

FITS: list[tuple[int, weakref.ref]] = []
"""(seed, weak reference to the fitted object) of every fit made in this process."""
ALIVE_AT_FIT: list[int] = []
"""How many earlier fits were still alive when each fit started."""


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


class NamedSampler(FakeFitter):
    """Says which sampler it runs, whatever the config's ``sampler``."""

    sampler_name = "fake-nuts"
