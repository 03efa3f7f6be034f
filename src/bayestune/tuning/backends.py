"""Whether a NUTS backend can run here: one that cannot is refused in one line before any fit.

PyMC's blackjax path (``pm.sample(nuts_sampler="blackjax")``, PyMC 6.3) fails with blackjax
1.6 and later: ``pymc.sampling.jax`` passes ``progress_bar=`` on to
``blackjax.window_adaptation``, which since 1.6 forwards keywords it does not know to the NUTS
kernel, so every fit raises ``TypeError`` at its first adaptation step (:data:`BLACKJAX_BUG`).
``tests/tuning/test_blackjax.py`` pins that failure: it fails once PyMC's blackjax path runs,
and says to lift the refusal here.
"""

from __future__ import annotations

from importlib import metadata

BLACKJAX_BUG = "https://github.com/pymc-devs/pymc/issues/8367"
"""PyMC's issue: ``pm.sample(nuts_sampler="blackjax")`` fails during warm-up with blackjax >= 1.6."""
BLACKJAX_BROKEN_FROM = (1, 6)


def _release(version: str) -> tuple[int, ...]:
    parts = []
    for part in version.split(".")[:2]:
        digits = "".join(c for c in part if c.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def sampler_problem(sampler: str) -> str | None:
    """Why ``pm.sample(nuts_sampler=sampler)`` cannot run here, in one line; ``None`` when it can."""
    if sampler != "blackjax":
        return None
    try:
        version = metadata.version("blackjax")
    except metadata.PackageNotFoundError:
        return "the blackjax sampler needs blackjax (pip install 'bayestune[blackjax]')"
    if _release(version) >= BLACKJAX_BROKEN_FROM:
        return (f"PyMC's blackjax sampler fails with blackjax {version} (it passes progress_bar= on to "
                f"blackjax.window_adaptation: {BLACKJAX_BUG}); use another sampler (numpyro, nutpie, pymc)")
    return None
