"""The selection rules: lowest mean CRPS, and the one-standard-error rule toward simpler structures."""

from __future__ import annotations

import numpy as np
import pytest

from bayestune.errors import BayestuneError
from bayestune.tuning.selection import Scored, select, simplicity


def _trial(number, ys, l_max, weeks, adstock="geometric", saturation="logistic"):
    w = np.asarray(weeks, dtype=float)
    params = {"yearly_seasonality": ys, "l_max": l_max, "adstock": adstock, "saturation": saturation}
    return Scored(number, params, float(w.mean()), [list(w[:4]), list(w[4:])])


BASE = np.array([100.0, 120.0, 90.0, 110.0, 105.0, 95.0, 130.0, 85.0])


def test_lowest_takes_the_smallest_mean_and_the_earlier_trial_on_ties():
    a = _trial(0, 5, 8, BASE)
    b = _trial(1, 2, 6, BASE + 1.0)
    c = _trial(2, 3, 6, BASE)
    sel = select([a, b, c], "lowest")
    assert sel.chosen.number == 0 and sel.lowest.number == 0 and sel.within == [0]


def test_one_se_prefers_the_simpler_structure_within_one_paired_standard_error():
    best = _trial(0, 5, 8, BASE)
    # 2 units worse on average, paired differences +12/-8 (SE 3.8): indistinguishable
    close = _trial(1, 2, 6, BASE + np.tile([12.0, -8.0], 4))
    # 20 units worse on every week: the paired SE is 0, so it is clearly worse (as any
    # constant shift would be: pairing sees that every week agrees)
    worse = _trial(2, 1, 3, BASE + 20.0)
    sel = select([best, close, worse], "one-se")
    assert sel.lowest.number == 0
    assert sel.within == [0, 1]
    assert sel.chosen.number == 1
    assert sel.to_dict()["lowest_trial"] == 0


def test_one_se_keeps_the_lowest_when_nothing_simpler_is_close():
    best = _trial(0, 2, 6, BASE)
    worse = _trial(1, 1, 4, BASE + 15.0)
    more_complex = _trial(2, 6, 10, BASE + np.tile([3.0, -2.0], 4))  # +0.5 on average, SE 0.94
    sel = select([best, worse, more_complex], "one-se")
    assert sel.chosen.number == 0 and sel.within == [0, 2]


def test_simplicity_orders_fourier_then_l_max_then_forms():
    def s(ys, l, ad="geometric", sat="logistic"):
        return simplicity({"yearly_seasonality": ys, "l_max": l, "adstock": ad, "saturation": sat})

    assert s(1, 12) < s(2, 3) < s(2, 4) < s(2, 4, "delayed") < s(2, 4, "delayed", "hill")


def test_no_trials_and_unknown_rule():
    assert select([], "one-se") is None
    with pytest.raises(BayestuneError, match="selection: unknown name .median."):
        select([_trial(0, 1, 2, BASE)], "median")
