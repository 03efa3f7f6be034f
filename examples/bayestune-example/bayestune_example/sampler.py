"""An Optuna sampler: quasi-random Halton points over the space (Optuna's QMC sampler)."""

from __future__ import annotations

from optuna.samplers import QMCSampler


class HaltonSampler(QMCSampler):
    """:class:`optuna.samplers.QMCSampler` with ``qmc_type="halton"`` and scrambling."""

    def __init__(self, *, seed: int | None = None) -> None:
        super().__init__(qmc_type="halton", scramble=True, seed=seed)
