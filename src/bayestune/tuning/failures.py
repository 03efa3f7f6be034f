"""Why no trial completed, in counts, and what to change.

A study where every trial was pruned or failed leaves its reasons in ``trials.csv``
(``pruned_reason``, ``error``, ``interrupted``), one row per trial. A user should not have to
read that file to learn that every fit missed the same ESS threshold: :func:`why_none_completed`
groups the reasons by kind, counts the trials of each (a trial counts once per kind), and
names the flag or config key that addresses each kind.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

import pandas as pd

from bayestune.tuning.config import TuningConfig

GATE_PREFIX = re.compile(r"^convergence gate: fold \d+: ")
SHOWN = 3
"""How many kinds of reason the message names, commonest first."""


def _gate_kinds(reasons: str, config: TuningConfig) -> list[tuple[str, str]]:
    """(kind, remedy) for each failed criterion of one gate failure (see :func:`tuning.gate.check`)."""
    more = f"raise --draws/--tune (now {config.draws}/{config.tune})"
    rules: list[tuple[str, Callable[[re.Match], str], str]] = [
        (r"^divergences \S+ > (\S+)$", lambda m: f"divergences > {m[1]}",
         f"raise --tune (now {config.tune}) or raise [gate] max_divergence_rate"),
        (r"^R-hat undefined", lambda m: "R-hat undefined (a chain that did not move)", more),
        (r"^R-hat \S+ > (\S+)(?: |$)", lambda m: f"R-hat > {m[1]}",
         f"{more}, refit from fresh seeds ([gate] retries, now {config.gate.retries}) or raise [gate] max_rhat"),
        (r"^bulk ESS undefined", lambda m: "bulk ESS undefined (a chain that did not move)", more),
        (r"^bulk ESS \S+ < (\S+)(?: |$)", lambda m: f"bulk ESS < {m[1]}", f"{more} or lower [gate] min_ess"),
    ]
    kinds = []
    for reason in reasons.split("; "):
        if reason.startswith("R-hat skipped"):  # informational: it fails nothing
            continue
        for pattern, label, remedy in rules:
            if match := re.match(pattern, reason):
                kinds.append((label(match), remedy))
                break
        else:
            kinds.append((f"convergence gate: {reason}", "see [gate] in the config"))
    return kinds


def _pruner_remedy(config: TuningConfig) -> str:
    """Turn the pruner off, or let it wait longer where the configured one has a startup count."""
    from bayestune.tuning.pruner import takes

    p, remedy = config.pruner, 'set [pruner] name = "none"'
    if "n_startup_trials" in p.kwargs:
        return f"{remedy} or raise n_startup_trials in [pruner] kwargs (now {p.kwargs['n_startup_trials']})"
    if takes(p.name, "n_startup_trials"):
        return f"{remedy} or raise [pruner] n_startup_trials (now {p.n_startup_trials})"
    return f"{remedy} or change [pruner] kwargs"


def _kinds(row: pd.Series, config: TuningConfig) -> list[tuple[str, str]]:
    """(kind, remedy) pairs of one trial that did not complete."""
    pruned, error = row.get("pruned_reason"), row.get("error")
    if bool(row.get("interrupted", False)):
        return [("interrupted by a kill", "run the same command again to resume")]
    if isinstance(pruned, str) and GATE_PREFIX.match(pruned):
        return _gate_kinds(GATE_PREFIX.sub("", pruned), config)
    if isinstance(pruned, str) and pruned.startswith("pruned by the pruner"):
        return [(f"stopped by the {config.pruner.name} pruner", _pruner_remedy(config))]
    if isinstance(pruned, str):
        return [(pruned, "")]
    if isinstance(error, str):
        first = error.strip().splitlines()[0] if error.strip() else "an empty error"
        return [(f"the fit raised {first[:200]!r}", "")]
    return [(f"ended {row.get('state', 'without a value')} with no reason recorded", "")]


def why_none_completed(trials: pd.DataFrame, config: TuningConfig) -> str:
    """One line: the commonest reasons trials did not complete, with counts and remedies.

    ``trials`` is ``trials.csv`` as a frame; ``config`` the run's, whose values the remedies
    quote (e.g. ``"bulk ESS < 50 in 3 of 3 trials: raise --draws/--tune (now 500/500) or
    lower [gate] min_ess"``).
    """
    ended = trials[trials["state"] != "COMPLETE"]
    counts: Counter[str] = Counter()
    remedies: dict[str, str] = {}
    for _, row in ended.iterrows():
        for kind, remedy in dict(_kinds(row, config)).items():  # once per trial and kind
            counts[kind] += 1
            remedies.setdefault(kind, remedy)
    n = len(trials)
    parts = [f"{kind} in {count} of {n} trial{'s' if n != 1 else ''}" + (f": {remedies[kind]}" if remedies[kind] else "")
             for kind, count in counts.most_common(SHOWN)]
    if not parts:
        return "the study holds no trial"
    rest = len(counts) - SHOWN
    return "; ".join(parts) + (f" (and {rest} more kind{'s' if rest != 1 else ''})" if rest > 0 else "")
