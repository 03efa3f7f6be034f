"""The layers import one way: the checker walks every import of the package with ``ast``
(also imports inside functions), and is shown to flag a planted back-import.

The rules, as the code stands:

- the simulator imports none of the other layers;
- tuning imports the simulator and, of evaluation, only ``evaluation.metrics`` (the CRPS it
  scores trials by, and the paired differences the selection rules use);
- evaluation never imports tuning: it reads what tuning wrote through ``bayestune.rundir``;
- ``bayestune.rundir`` (the run dir contract) imports none of the layers;
- ``bench`` and ``calibration`` drive the layers and are imported by none of them.

``bayestune.errors`` and ``bayestune.fileio`` are shared by all; ``cli`` and ``demo`` sit on top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "bayestune"
SRC = Path(__file__).resolve().parents[1] / "src" / PACKAGE
LAYERS = ("simulator", "tuning", "evaluation", "rundir", "bench", "calibration", "cli", "demo")
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "simulator": ("tuning", "evaluation", "rundir", "bench", "calibration", "cli", "demo"),
    "tuning": ("evaluation", "bench", "calibration", "cli", "demo"),
    "evaluation": ("tuning", "bench", "calibration", "cli", "demo"),
    "rundir": ("simulator", "tuning", "evaluation", "bench", "calibration", "cli", "demo"),
}
ALLOWED = {"tuning": ("evaluation.metrics",)}
"""Exceptions to :data:`FORBIDDEN`: modules a layer may import from a layer it otherwise may not."""


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == PACKAGE and len(parts) > 1 and parts[1] in LAYERS else None


def imported(module: str, source: str, is_package: bool = False) -> list[tuple[int, list[str]]]:
    """The ``bayestune`` modules each import statement of ``source`` (the text of ``module``)
    brings in, anywhere in it (also inside functions): ``(line, modules)`` per statement.

    ``from bayestune.<layer> import name`` counts as importing ``bayestune.<layer>.name``, so
    that a submodule named this way is judged as itself (``from bayestune.evaluation import metrics``).
    """
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the importing module's package
                parts = module.split(".")
                parts = parts[: len(parts) - node.level + (1 if is_package else 0)]
                base = ".".join(parts + ([base] if base else []))
            top = base.count(".") <= 1
            targets = [f"{base}.{a.name}" if top else base for a in node.names]
        else:
            continue
        mine = [t for t in targets if t == PACKAGE or t.startswith(PACKAGE + ".")]
        if mine:
            out.append((node.lineno, mine))
    return out


def _allowed(layer: str, target: str) -> bool:
    to = _layer(target)
    if to is None or to == layer or to not in FORBIDDEN.get(layer, ()):
        return True
    return any(target == f"{PACKAGE}.{ok}" or target.startswith(f"{PACKAGE}.{ok}.") for ok in ALLOWED.get(layer, ()))


def violations(module: str, source: str, is_package: bool = False) -> list[str]:
    """The import statements of ``module`` that break the rules, one line each."""
    layer = _layer(module)
    if layer is None:
        return []
    bad = []
    for line, targets in imported(module, source, is_package):
        wrong = sorted({t for t in targets if not _allowed(layer, t)})
        if wrong:
            bad.append(f"{module}:{line} imports {', '.join(wrong)}")
    return bad


def _modules():
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC.parent).with_suffix("")
        parts = list(rel.parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        yield ".".join(parts), path.read_text(), is_package


def test_the_package_respects_its_layers():
    modules = list(_modules())
    assert len(modules) > 50  # the walk found the package
    found = [v for m, src, pkg in modules for v in violations(m, src, pkg)]
    assert found == []
    # not vacuous: the walk sees the imports the rules allow across layers
    across = {t for m, src, pkg in modules if m.startswith("bayestune.tuning")
              for _, targets in imported(m, src, pkg) for t in targets if t.startswith("bayestune.evaluation")}
    assert across == {"bayestune.evaluation.metrics"}


@pytest.mark.parametrize(("module", "source"), [
    ("bayestune.simulator.generate", "from bayestune.tuning.model import Candidate\n"),
    ("bayestune.simulator.generate", "def f():\n    import bayestune.evaluation.metrics\n"),
    ("bayestune.evaluation.report", "from bayestune.tuning import records\n"),
    ("bayestune.evaluation.report", "from ..tuning.records import choose\n"),
    ("bayestune.tuning.search", "from bayestune.evaluation.report import evaluate\n"),
    ("bayestune.tuning.search", "from bayestune.bench import run_suite\n"),
    ("bayestune.evaluation.runtime", "from bayestune.calibration.run import run_calibration\n"),
    ("bayestune.rundir", "from bayestune.tuning.config import TuningConfig\n"),
])
def test_a_planted_back_import_is_flagged(module, source):
    assert len(violations(module, source)) == 1


def test_what_the_rules_allow_is_not_flagged():
    assert violations("bayestune.tuning.trial", "from bayestune.evaluation.metrics import crps_ensemble\n") == []
    assert violations("bayestune.tuning.trial", "from bayestune.evaluation import metrics\n") == []
    assert violations("bayestune.evaluation.report", "from bayestune.rundir import RunDir\n"
                                                     "from bayestune.simulator.dataset import read_dataset\n") == []
    assert violations("bayestune.bench.cell", "from bayestune.tuning import tune\n") == []
    assert violations("bayestune.tuning.trial", "from bayestune.evaluation import metrics, report\n") == [
        "bayestune.tuning.trial:1 imports bayestune.evaluation.report"]
