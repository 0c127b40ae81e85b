"""The import graph and string scans the architecture tests check (tests/test_architecture.py)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules(package: str) -> dict[str, Path]:
    """Every module of a top-level package (``engine``): dotted name -> file."""
    return {module_name(p): p for p in sorted((ROOT / package).rglob("*.py"))}


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _scopes(tree: ast.AST) -> dict[int, str]:
    """id(node) -> the name of the top-level function or class it sits in (``<module>`` else)."""
    where: dict[int, str] = {}
    for top in getattr(tree, "body", []):
        scope = top.name if isinstance(top, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else "<module>"
        for node in ast.walk(top):
            where[id(node)] = scope
    return where


def imports(path: Path, name: str, known: set[str]) -> list[tuple[str, int, str]]:
    """(imported module, line, enclosing top-level function) for every import in the file, at any
    depth: lazy imports inside functions are edges too. ``from a import b`` is an import of module
    ``a.b`` when that is a module in ``known``, else of ``a``. Targets outside ``known`` are kept
    as written (``tools.robustness``, ``textual``...)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    scope = _scopes(tree)
    pkg = name if _is_package(path) else name.rpartition(".")[0]
    out: list[tuple[str, int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno, scope.get(id(node), "<module>")) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = pkg.split(".")
                if node.level > 1:
                    parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for a in node.names:
                sub = f"{base}.{a.name}"
                out.append((sub if sub in known else base, node.lineno, scope.get(id(node), "<module>")))
    return out


def import_graph(package: str) -> dict[str, dict[str, list[tuple[int, str]]]]:
    """module -> {imported module of the same package: [(line, enclosing function), ...]}."""
    mods = modules(package)
    known = set(mods)
    graph: dict[str, dict[str, list[tuple[int, str]]]] = {m: {} for m in mods}
    for m, path in mods.items():
        for target, line, where in imports(path, m, known):
            if target in known and target != m:
                graph[m].setdefault(target, []).append((line, where))
    return graph


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


# --- raw SQL -----------------------------------------------------------------------------------

# A statement, not prose: upper-case keywords in SQL's own order.
SQL_RE = re.compile(
    r"\b(SELECT\b.+\bFROM\b|INSERT\s+(OR\s+[A-Z]+\s+)?INTO\b|UPDATE\s+\w+\s+SET\b|DELETE\s+FROM\b|"
    r"CREATE\s+(TABLE|INDEX|UNIQUE\s+INDEX|VIEW|TRIGGER)\b|ALTER\s+TABLE\b|DROP\s+(TABLE|INDEX)\b|PRAGMA\s+\w+)",
    re.S)
DB_CALLS = ("execute", "executemany", "executescript")


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                ids.add(id(body[0].value))
    return ids


def _chain(node: ast.AST) -> list[str]:
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        names.append(node.id)
    return names


def raw_sql(path: Path) -> list[tuple[int, str]]:
    """(line, what) for each SQL statement in a string literal (docstrings excepted) and each
    ``.execute/.executemany/.executescript`` call, or ``.query`` on something named ``db``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    docs = _docstrings(tree)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            if SQL_RE.search(node.value):
                found.append((node.lineno, node.value[:60]))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            chain = _chain(node.func)
            if node.func.attr in DB_CALLS or (node.func.attr == "query" and "db" in chain[1:]):
                found.append((node.lineno, ".".join(reversed(chain)) + "()"))
    return found


# --- the model side's layers -------------------------------------------------------------------

# engine/llm by role, lowest first: the CPU kernels, the generation engine (engine/llm's own
# modules), where models come from (a loaded model's id names the engine's recipe), and the service
# that starts an engine on a loaded model. A layer imports only its own and the ones below it.
LLM_LAYERS = ("cpu", "engine", "models", "service")


def llm_layer(module: str) -> str | None:
    """Which layer of ``engine.llm`` a module is in (None: outside engine.llm, or its package file)."""
    if not module.startswith("engine.llm."):
        return None
    part = module.split(".")[2]
    if part in ("cpu", "models"):
        return part
    return "service" if part == "service" else "engine"


def llm_layer_violations(graph: dict[str, dict[str, list[tuple[int, str]]]]) -> list[str]:
    bad = []
    for m, targets in graph.items():
        here = llm_layer(m)
        if here is None:
            continue
        for t, occ in targets.items():
            there = llm_layer(t)
            if there is not None and LLM_LAYERS.index(there) > LLM_LAYERS.index(here):
                bad += [f"{m}:{line} ({here}) imports {t} ({there})" for line, _where in occ]
    return bad
