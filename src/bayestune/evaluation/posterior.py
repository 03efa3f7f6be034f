"""Read a saved PyMC-Marketing fit (ArviZ netCDF) as plain arrays in the units of the data.

The evaluation layer reads the fits the tuning layer wrote and never rebuilds a model: what
it needs (channel contributions, adstock parameters, the prior and posterior of every free
parameter) is in the file. Draws are stacked over chains: the first axis of every array is
the draw.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import xarray as xr

from bayestune.errors import BayestuneError
from bayestune.simulator.transforms import ADSTOCK_FORMS

# PyMC-Marketing's class name -> our adstock form name
_ADSTOCK_BY_CLASS = {form.pymc_class: name for name, form in ADSTOCK_FORMS.items()}


def _stack(array: xr.DataArray) -> np.ndarray:
    """Draws first: ``(chain, draw, ...)`` -> ``(chain * draw, ...)``."""
    return np.asarray(array.stack(sample=("chain", "draw")).transpose("sample", ...).values)


@dataclass(frozen=True)
class FitPosterior:
    """One saved fit: its posterior, prior and data scales."""

    tree: xr.DataTree
    path: Path

    @classmethod
    def load(cls, path: str | Path) -> FitPosterior:
        path = Path(path)
        try:
            tree = xr.open_datatree(path)
        except (OSError, ValueError) as exc:
            raise BayestuneError(f"cannot read the fit: {exc}", str(path)) from None
        if "posterior" not in tree.children:
            raise BayestuneError("the fit file holds no posterior", str(path))
        return cls(tree.load(), path)

    @cached_property
    def channels(self) -> list[str]:
        return [str(c) for c in self.tree["posterior"]["channel"].values]

    @cached_property
    def dates(self) -> np.ndarray:
        return np.asarray(self.tree["posterior"]["date"].values)

    @cached_property
    def target_scale(self) -> float:
        return float(self.tree["constant_data"]["target_scale"].values)

    @cached_property
    def adstock(self) -> tuple[str, int]:
        """The fitted adstock form (our name) and its ``l_max``."""
        spec = json.loads(self.tree.attrs["adstock"])
        cls_name = spec["__type__"].rsplit(".", 1)[-1]
        if cls_name not in _ADSTOCK_BY_CLASS:
            raise BayestuneError(f"adstock {cls_name} is not one bayestune knows", str(self.path))
        return _ADSTOCK_BY_CLASS[cls_name], int(spec["l_max"])

    @property
    def n_draws(self) -> int:
        p = self.tree["posterior"]
        return int(p.sizes["chain"] * p.sizes["draw"])

    def draws(self, name: str) -> np.ndarray:
        """Posterior draws of a variable, draws first."""
        return _stack(self.tree["posterior"][name])

    def channel_contributions(self) -> np.ndarray:
        """Each channel's contribution per week in target units: ``(draws, weeks, channels)``."""
        var = self.tree["posterior"]["channel_contribution"].transpose("chain", "draw", "date", "channel")
        return _stack(var) * self.target_scale

    @cached_property
    def adstock_kernels(self) -> dict[str, np.ndarray]:
        """Per channel the posterior mean of the normalised adstock kernel (mean over draws
        of each draw's kernel, which stays a kernel: non-negative, summing to 1)."""
        form_name, l_max = self.adstock
        form = ADSTOCK_FORMS[form_name]
        params = {p: self.draws(f"adstock_{p}") for p in form.params}  # each (draws, channels)
        out = {}
        for j, channel in enumerate(self.channels):
            kernels = [form.kernel({p: float(v[i, j]) for p, v in params.items()}, l_max)
                       for i in range(self.n_draws)]
            out[channel] = np.mean(kernels, axis=0)
        return out

    def free_parameters(self) -> list[str]:
        """Variables with a prior in the file: the sampled parameters."""
        if "prior" not in self.tree.children:
            return []
        return [str(v) for v in self.tree["prior"].data_vars]

    def variances(self, name: str) -> tuple[xr.DataArray, xr.DataArray]:
        """Posterior and prior variance of ``name`` per element (named coordinates kept)."""
        post = self.tree["posterior"][name].var(("chain", "draw"))
        prior = self.tree["prior"][name].var(("chain", "draw"))
        return post, prior
