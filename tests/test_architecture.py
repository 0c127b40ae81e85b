"""The shape of the code, checked (as tests/test_engine_imports.py checks that engine/ imports no UI):

- no import cycle inside ``engine/`` (lazy imports in functions count), except the edges listed
  in ``KNOWN_CYCLE_EDGES``, which phase 2 of issue #12 removes: the list may only shrink;
- nothing under ``engine/`` or ``console/`` imports test or benchmark tooling (``tests/``,
  ``tools/``) or the ``texture`` command (``cli/``, which sits on top of both);
- ``cli/`` has no import cycle of its own;
- no raw SQL outside ``engine/store/``.
"""

from __future__ import annotations

import textwrap

import pytest

import architecture as A

# (module, imported module, the top-level function the import sits in): the edge of the one
# known cycle. The last one: generator.py's _bench_main (with raw_batch_generate and bench_prompts)
# moves to tools/bench/ when the phase-2 branches merge (generator.py was another branch's file).
# The CLI's cycle went when it moved to cli/, the kernels' _bench_main went to tools/bench/kernels.py.
# Any other cycle, or one of these edges from another function, fails.
KNOWN_CYCLE_EDGES = {
    ("engine.llm.generator", "engine.llm.models", "_bench_main"),  # removed in phase 2
}

TOOLING = ("tests", "tools", "fakes", "conftest", "conftest_llm", "architecture")
# Only the `texture` command (cli/, on top of everything) imports tools/, lazily.
KNOWN_TOOL_IMPORTS: set[tuple[str, str, str]] = set()


def _without_known_edges(graph):
    out = {}
    for m, targets in graph.items():
        out[m] = {t: occ for t, occ in targets.items()
                  if any((m, t, where) not in KNOWN_CYCLE_EDGES for _line, where in occ)}
    return out


def test_engine_has_no_import_cycles_but_the_known_ones():
    graph = _without_known_edges(A.import_graph("engine"))
    found = A.cycles(graph)
    detail = [{m: {t: occ for t, occ in graph[m].items() if t in c} for m in c} for c in found]
    assert found == [], f"import cycle(s) inside engine/: {detail}"


def test_the_known_cycle_edges_still_exist():
    # An edge phase 2 (or a merge) removed must leave the list too, so it cannot hide a new one.
    graph = A.import_graph("engine")
    have = {(m, t, where) for m, targets in graph.items() for t, occ in targets.items() for _l, where in occ}
    stale = KNOWN_CYCLE_EDGES - have
    assert not stale, f"no longer imported, remove from KNOWN_CYCLE_EDGES: {sorted(stale)}"


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b": [(1, "<module>")]}, "b": {"c": [(1, "f")]}, "c": {"a": [(1, "<module>")]}, "d": {}}
    assert A.cycles(graph) == [["a", "b", "c"]]
    assert A.cycles({"a": {"b": []}, "b": {}}) == []


@pytest.mark.parametrize("package", ["engine", "console"])
def test_the_product_imports_no_test_or_benchmark_tooling(package):
    bad = []
    for m, path in A.modules(package).items():
        for target, line, where in A.imports(path, m, set()):
            if target.split(".")[0] in TOOLING and (m, target, where) not in KNOWN_TOOL_IMPORTS:
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
