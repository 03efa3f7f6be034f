"""The README's tables of measured suites are generated from the stored results files."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("readme_tables", ROOT / "benchmarks" / "readme_tables.py")
readme_tables = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(readme_tables)


def test_every_table_block_of_the_readme_is_what_its_results_file_makes():
    readme = (ROOT / "README.md").read_text()
    blocks = readme_tables.BLOCK.findall(readme)
    assert {kind for _, kind, _, _, _ in blocks} >= {"methodologies", "catch"}
    assert readme_tables.render(readme) == readme, "run python benchmarks/readme_tables.py"


def test_a_block_edited_by_hand_is_regenerated_from_its_file(tmp_path):
    payload = json.loads((ROOT / "benchmarks" / "baselines" / "quick.json").read_text())
    (tmp_path / "r.json").write_text(json.dumps(payload))
    text = "before\n<!-- table: methodologies r.json -->\n| hand | made |\n<!-- end table -->\nafter\n"
    out = readme_tables.render(text, root=tmp_path)
    assert "hand" not in out and out.startswith("before\n") and out.endswith("after\n")
    table = out.split("-->\n", 1)[1].split("<!--")[0]
    methods = {c["cell"]["methodology"] for c in payload["cells"]}
    assert {line.split(" | ")[0].removeprefix("| ") for line in table.splitlines()[2:]} == methods


def test_an_objective_block_is_the_objective_reports_table(tmp_path):
    from tests.test_benchmarks import _load, _objective_run

    _objective_run(tmp_path / "run")
    text = "<!-- table: objective run -->\nold\n<!-- end table -->\n"
    out = readme_tables.render(text, root=tmp_path)
    report = _load("objective_report")
    assert out == ("<!-- table: objective run -->\n" + report.markdown(report.report(tmp_path / "run"))
                   + "\n<!-- end table -->\n")
