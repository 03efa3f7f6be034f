"""Save a fit of the compiled-once fitter as PyMC-Marketing saves a fit of its own.

The sampler kept only the free parameters, so the file is completed the way PyMC's own
nutpie path and ``MMM.fit`` complete theirs: the MMM is built on the fitted window, PyMC adds
the constant and observed data (``patch_nutpie_idata``), the deterministics are computed from
the draws (``channel_contribution`` and the others the evaluation layer reads), the fit data
and the model's attributes are PyMC-Marketing's, and ``MMM.save`` writes the netCDF. Only the
two fits of the final stage are saved, so building and compiling here once each is cheap
beside a search.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bayestune.tuning.model import build_mmm, quiet_sampling

PRIOR_DRAWS = 1000
"""Prior draws of the free parameters saved with a fit (posterior contraction needs them)."""


def save_fit(fitted: Any, path: Path, seed: int) -> None:
    """Write ``fitted`` (a :class:`~bayestune.tuning.fitters.pymc_marketing_nutpie.NutpieFit`) to ``path``."""
    import pymc as pm
    from pymc.backends.arviz import patch_nutpie_idata

    columns, frame = fitted.columns, fitted.frame
    X, y = frame.drop(columns=columns.target), frame[columns.target]
    mmm = build_mmm(fitted.candidate, columns)
    with quiet_sampling():
        mmm.build_model(X, y)
        idata = fitted.idata.copy()
        for group in ("warmup_posterior", "warmup_sample_stats"):
            if group in idata.children:
                idata = idata.drop_nodes(group)
        patch_nutpie_idata(idata, mmm.model, fitted.sample_seconds)
        posterior = pm.compute_deterministics(idata["posterior"].to_dataset(), model=mmm.model,
                                              merge_dataset=True, progressbar=False)
        idata["posterior"] = posterior
        prior = pm.sample_prior_predictive(draws=PRIOR_DRAWS, model=mmm.model, var_names=fitted.program.free,
                                           random_seed=seed)
        idata["prior"] = prior["prior"]
        idata["fit_data"] = mmm.create_fit_data(X, y)
        mmm.idata = mmm.set_idata_attrs(idata)
        mmm.save(str(path))
