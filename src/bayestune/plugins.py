"""Plug-ins: a methodology's parts named by a string, resolved and checked once.

Every choice the tuning loop makes sits behind a seam (``selection``, ``score``,
``optuna_sampler``, ``pruner``, ``fitter``). A config names the implementation of each by
one of three kinds of string, tried in this order:

1. a built-in name (``"one-se"``, ``"crps"``, ``"TPESampler"``);
2. an entry point of group ``bayestune.<seam>`` that an installed package declares
   (``[project.entry-points."bayestune.selection"] my-rule = "pkg.mod:rule"``);
3. an import path ``package.module:object`` (dots after the colon walk attributes);
   ``package.module:factory(ARG)`` calls that object with the string ``ARG`` (everything
   between the first ``(`` and the final ``)``), so a plug-in that wraps another can name it:
   ``bayestune.bench.mutants.carry_over:NoCarryOver(pymc-marketing)``.

The string, never the object, is what configs, run dirs, suite fingerprints and workers
carry: a process-pool or Dask worker resolves it again, and a resumed run finds the same
plug-in. :func:`resolve` raises :class:`~bayestune.errors.BayestuneError` naming the seam and
the string, so a typo, a missing attribute or a wrong signature ends the command at load time.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any

from bayestune.errors import BayestuneError

Check = Callable[[Any], str | None]
"""Checks a resolved object against its seam's protocol: ``None`` when it fits, else what is wrong."""


def _load_path(path: str) -> Any:
    module_name, _, attr = path.partition(":")
    module = importlib.import_module(module_name)
    obj: Any = module
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _argument(attr: str) -> tuple[str, str | None]:
    """``"factory(ARG)"`` -> ``("factory", "ARG")``; anything else -> ``(attr, None)``."""
    head, paren, rest = attr.partition("(")
    if not paren or not rest.endswith(")"):
        return attr, None
    return head, rest[:-1]


def _entry_point(seam: str, name: str) -> Any | None:
    found = entry_points(group=f"bayestune.{seam}", name=name)
    return next(iter(found), None)


def entry_point_names(seam: str) -> list[str]:
    """The names installed packages declare for ``seam`` (group ``bayestune.<seam>``)."""
    return sorted(ep.name for ep in entry_points(group=f"bayestune.{seam}"))


def load(seam: str, name: str, builtins: Mapping[str, str], where: str) -> Any:
    """The object ``name`` stands for, unchecked: built-in, entry point, then import path."""
    if not isinstance(name, str) or not name.strip():
        raise BayestuneError(f"{seam}: expected a name or an import path 'package.module:object'", where)
    if name in builtins:
        return _load_path(builtins[name])
    ep = _entry_point(seam, name)
    try:
        if ep is not None:
            return ep.load()
        if ":" not in name:
            known = ", ".join([*builtins, *entry_point_names(seam)])
            raise BayestuneError(f"{seam}: unknown name {name!r} (known: {known}; or an import path "
                                 "'package.module:object')", where)
        module_name, _, attr = name.partition(":")
        attr, argument = _argument(attr)
        if not module_name or not attr:
            raise BayestuneError(f"{seam}: {name!r} is not an import path 'package.module:object'", where)
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            raise BayestuneError(f"{seam}: cannot import {module_name!r} ({exc.name!r} not found) for {name!r}",
                                 where) from None
        obj: Any = module
        for part in attr.split("."):
            if not hasattr(obj, part):
                raise BayestuneError(f"{seam}: {module_name!r} has no attribute {attr!r} ({name!r})", where)
            obj = getattr(obj, part)
        return obj if argument is None else obj(argument)
    except BayestuneError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever a plug-in's import raises is the user's to fix
        raise BayestuneError(f"{seam}: loading {name!r} failed: {exc.__class__.__name__}: {exc}", where) from None


def resolve(seam: str, name: str, builtins: Mapping[str, str], check: Check, where: str) -> Any:
    """Load ``name`` for ``seam`` and check it against the seam's protocol (once per process:
    the result is cached, so a study resolves its plug-ins once, not per trial)."""
    return _resolve_cached(seam, name, tuple(builtins.items()), check, where)


@lru_cache(maxsize=256)
def _resolve_cached(seam: str, name: str, builtins: tuple[tuple[str, str], ...], check: Check, where: str) -> Any:
    obj = load(seam, name, dict(builtins), where)
    problem = check(obj)
    if problem:
        raise BayestuneError(f"{seam}: {name!r} {problem}", where)
    return obj


def positional_arity(func: Any, n: int) -> str | None:
    """``None`` when ``func`` can be called with ``n`` positional arguments, else what is wrong."""
    if not callable(func):
        return f"is a {type(func).__name__}, not callable"
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return None  # a builtin without a signature: trust it
    try:
        sig.bind(*range(n))
    except TypeError:
        return f"has the wrong signature {sig}: it must take {n} positional argument(s)"
    return None


def has_methods(obj: Any, methods: Mapping[str, int]) -> str | None:
    """``None`` when ``obj`` has each method taking the given number of positional arguments."""
    for method, n in methods.items():
        attr = getattr(obj, method, None)
        if attr is None:
            return f"has no method {method!r}"
        problem = positional_arity(attr, n)
        if problem:
            return f"method {method!r} {problem}"
    return None


def one_line(obj: Any, fallback: str) -> str:
    """What a plug-in says of itself in one line: its ``description`` attribute, else the first
    line of its docstring, else ``fallback`` (its name)."""
    text = getattr(obj, "description", None) or (obj.__doc__ or "").strip().split("\n")[0]
    return text or fallback


def instantiate(seam: str, name: str, cls: type, kwargs: Mapping[str, Any], defaults: Mapping[str, Any],
                where: str) -> Any:
    """``cls(**kwargs)`` for a class-valued seam (an Optuna sampler or pruner), each of
    ``defaults`` passed when the class takes it and ``kwargs`` does not set it; wrong keyword
    arguments are the user's to fix, so a failure is one line naming the call."""
    args = dict(kwargs)
    params = inspect.signature(cls).parameters
    for key, value in defaults.items():
        if key in params and key not in args:
            args[key] = value
    try:
        return cls(**args)
    except Exception as exc:  # noqa: BLE001 - reported in one line
        shown = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        raise BayestuneError(f"{seam}: {name}({shown}) failed: {exc.__class__.__name__}: {exc}", where) from None
