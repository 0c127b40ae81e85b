"""The shape of the code, checked (as tests/test_engine_imports.py checks that engine/ imports no UI):

- no import cycle inside ``engine/`` (lazy imports in functions count), none allowed;
- ``engine/llm`` in layers by role: ``cpu/`` (the kernels) imports nothing else of it, the
  generation engine nothing from ``models/``; the modules that moved there keep their earlier names;
- nothing under ``engine/`` or ``console/`` imports test or benchmark tooling (``tests/``,
  ``tools/``) or the ``texture`` command (``cli/``, which sits on top of both);
- ``cli/`` has no import cycle of its own;
- no raw SQL outside ``engine/store/``.
"""

from __future__ import annotations

import textwrap

import pytest

import architecture as A

TOOLING = ("tests", "tools", "fakes", "conftest", "conftest_llm", "architecture")
# Only the `texture` command (cli/, on top of everything) imports tools/, lazily.


def test_engine_has_no_import_cycles():
    graph = A.import_graph("engine")
    found = A.cycles(graph)
    detail = [{m: {t: occ for t, occ in graph[m].items() if t in c} for m in c} for c in found]
    assert found == [], f"import cycle(s) inside engine/: {detail}"


def test_the_model_side_keeps_its_layers():
    assert A.llm_layer_violations(A.import_graph("engine")) == []


def test_the_layer_check_sees_an_upward_import():
    graph = {"engine.llm.cpu.native": {"engine.llm.generator": [(3, "<module>")]},
             "engine.llm.generator": {"engine.llm.models.registry": [(7, "f")], "engine.llm.cpu.native": [(1, "<module>")]},
             "engine.llm.models.registry": {"engine.llm.generator": [(9, "g")]}}
    assert A.llm_layer_violations(graph) == [
        "engine.llm.cpu.native:3 (cpu) imports engine.llm.generator (engine)",
        "engine.llm.generator:7 (engine) imports engine.llm.models.registry (models)"]


def test_earlier_module_paths_name_the_moved_modules():
    import importlib

    import engine.llm

    for old, new in engine.llm.MOVED.items():
        assert importlib.import_module(f"engine.llm.{old}") is importlib.import_module(f"engine.llm.{new}")
        assert getattr(engine.llm, old) is importlib.import_module(f"engine.llm.{new}")
    from engine.llm.native import RECIPE  # the form a script uses
    from engine.llm.cpu.native import RECIPE as same

    assert RECIPE == same
    assert importlib.import_module("engine.llm.cpu.native").__spec__.name == "engine.llm.cpu.native"


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b": [(1, "<module>")]}, "b": {"c": [(1, "f")]}, "c": {"a": [(1, "<module>")]}, "d": {}}
    assert A.cycles(graph) == [["a", "b", "c"]]
    assert A.cycles({"a": {"b": []}, "b": {}}) == []


@pytest.mark.parametrize("package", ["engine", "console"])
def test_the_product_imports_no_test_or_benchmark_tooling(package):
    bad = []
    for m, path in A.modules(package).items():
        for target, line, _where in A.imports(path, m, set()):
            if target.split(".")[0] in TOOLING:
                bad.append(f"{path.relative_to(A.ROOT)}:{line} imports {target}")
    assert not bad, bad


@pytest.mark.parametrize("package", ["engine", "console"])
def test_the_product_does_not_import_the_command_on_top_of_it(package):
    bad = [f"{path.relative_to(A.ROOT)}:{line} imports {target}"
           for m, path in A.modules(package).items()
           for target, line, _where in A.imports(path, m, set()) if target.split(".")[0] == "cli"]
    assert not bad, bad


def test_the_cli_package_has_no_import_cycles():
    assert A.cycles(A.import_graph("cli")) == []


@pytest.mark.parametrize("package", ["engine", "console", "cli"])
def test_no_raw_sql_outside_engine_store(package):
    bad = []
    for m, path in A.modules(package).items():
        if m == "engine.store" or m.startswith("engine.store."):
            continue
        bad += [f"{path.relative_to(A.ROOT)}:{line}: {what!r}" for line, what in A.raw_sql(path)]
    assert not bad, "SQL belongs behind a Store method in engine/store/: " + "; ".join(bad)


def test_the_sql_scan_flags_statements_and_db_calls_not_prose(tmp_path):
    src = tmp_path / "m.py"
    src.write_text(textwrap.dedent('''
        """Docstring: SELECT * FROM places is fine here (documentation)."""
        def f(store, self):
            store.db.execute("SELECT urn FROM current WHERE urn=?", [1])
            rows = store.db.query(q)
            sql = f"UPDATE batches SET status=? WHERE id={1}"
            conn.executemany(sql, [])
            self.query(".column")  # Textual's DOM query, not SQL
            msg = "Select a place, then update the prompt; create a table of results from the list."
            note = "INSERT INTO"  # a fragment without a table still counts
    '''), encoding="utf-8")
    hits = A.raw_sql(src)
    lines = sorted({line for line, _ in hits})
    assert lines == [4, 5, 6, 7, 10], hits
    # And it does see the store's own statements (the scan is not blind).
    assert len(A.raw_sql(A.ROOT / "engine" / "store" / "core.py")) > 20


@pytest.mark.parametrize("package", ["engine", "console"])
def test_the_product_carries_no_bench_entry_points(package):
    # Benchmarks are `texture bench` and tools/bench/; a product module runs no script of its own.
    bad = [f"{path.relative_to(A.ROOT)}" for _m, path in A.modules(package).items()
           if "_bench_main" in (src := path.read_text(encoding="utf-8")) or 'if __name__ == "__main__"' in src]
    assert not bad, bad
