"""Rolling folds: side by side by default, ``step`` weeks apart when asked, and a study that
fits and scores every one of them."""

from __future__ import annotations

import pytest

from bayestune.errors import BayestuneError
from bayestune.tuning.folds import fold_plan, search_folds


def test_the_default_step_is_the_horizon_and_the_folds_end_at_the_final_test_window():
    folds = search_folds(100, folds=3, horizon=8, test_weeks=16, min_train=20)
    assert [(f.train_end, f.test_end) for f in folds] == [(60, 68), (68, 76), (76, 84)]
    assert folds == search_folds(100, folds=3, horizon=8, test_weeks=16, min_train=20, step=8)


def test_a_smaller_step_gives_more_folds_over_the_same_weeks():
    folds = search_folds(100, folds=16, horizon=1, test_weeks=16, min_train=20, step=1)
    assert [f.train_end for f in folds] == list(range(68, 84))
    assert all(f.test_end == f.train_end + 1 for f in folds)
    overlapping = search_folds(100, folds=3, horizon=8, test_weeks=16, min_train=20, step=4)
    assert [(f.train_end, f.test_end) for f in overlapping] == [(68, 76), (72, 80), (76, 84)]


def test_too_few_weeks_names_the_step():
    with pytest.raises(BayestuneError, match=r"10 fold\(s\) of 8 weeks, 7 week\(s\) apart.*--step"):
        search_folds(100, folds=10, horizon=8, test_weeks=16, min_train=20, step=7)


def test_the_config_key_reaches_the_fold_plan():
    from bayestune.tuning import load_config

    config = load_config(None, {"validation": "rolling", "folds": 6, "horizon": 2, "step": 1,
                                "space": {"yearly_seasonality": [1, 3], "l_max": [3, 6]},
                                "final": {"test_weeks": 8}})
    plan = fold_plan(90, config)
    # 90 weeks less 8 final test weeks: the last fold scores weeks 80 and 81.
    assert [(f.train_end, f.test_end) for f in plan] == [(75 + i, 77 + i) for i in range(6)]
