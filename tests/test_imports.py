"""The layout's rules, read from the source (every import counts, the ones inside functions too):
- no import cycles between modules of pipeline/, trainer/ and schemas/;
- schemas/ imports neither pipeline/ nor trainer/; trainer/ never imports pipeline/; pipeline/ imports only
  trainer.config (the `train:` section of the one config file) and, lazily for `winnow train` / `winnow ablate`,
  the trainer's entry points;
- no module imports a private name (`_x`) from a module outside its own package (folder)."""
import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("pipeline", "trainer", "schemas")
# pipeline -> trainer imports allowed: the torch-free config, and the trainer's commands (imported lazily)
PIPELINE_MAY_IMPORT = {"trainer.config", "trainer.args", "trainer.train", "trainer.evaluate"}


def _modules() -> dict[str, str]:
    mods = {}
    for pkg in PACKAGES:
        for d, _, names in os.walk(os.path.join(ROOT, pkg)):
            for n in names:
                if n.endswith(".py"):
                    path = os.path.join(d, n)
                    mod = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                    mods[mod.removesuffix(".__init__")] = path
    return mods


MODULES = _modules()


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(mod: str, path: str):
    """(imported module, imported names) for every import statement in the file."""
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    is_pkg = path.endswith("__init__.py")
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if _resolve(a.name):
                    yield _resolve(a.name), []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = mod if is_pkg else mod.rpartition(".")[0]
                for _ in range(node.level - 1):
                    pkg = pkg.rpartition(".")[0]
                base = f"{pkg}.{base}" if base else pkg
            for a in node.names:
                sub = f"{base}.{a.name}"
                if sub in MODULES:                       # `from pipeline.io import files`: the module itself
                    yield sub, []
                elif _resolve(base):
                    yield _resolve(base), [a.name]


GRAPH = {m: {} for m in MODULES}
for _m, _p in MODULES.items():
    for _dep, _names in _imports(_m, _p):
        if _dep != _m:
            GRAPH[_m].setdefault(_dep, []).extend(_names)


def _private_attributes(mod: str, path: str):
    """(module, `_name`) for every `alias._name` where alias is a module imported by name in the file."""
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name in MODULES:
                    aliases[a.asname or a.name] = a.name
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                if f"{node.module}.{a.name}" in MODULES:
                    aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases \
                and node.attr.startswith("_") and not node.attr.startswith("__"):
            yield aliases[node.value.id], node.attr


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in GRAPH[v]:
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

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return out


def _package(mod: str) -> str:
    return mod if MODULES[mod].endswith("__init__.py") else mod.rpartition(".")[0]


def test_the_module_graph_is_read():
    assert len(MODULES) > 80 and "pipeline.graph" in GRAPH["pipeline.driver.run"]
    assert "pipeline.errors" in GRAPH["pipeline.driver.run"]


def test_no_import_cycles():
    assert _cycles() == []


def test_packages_depend_one_way():
    bad = []
    for m, deps in GRAPH.items():
        for d in deps:
            top_m, top_d = m.split(".")[0], d.split(".")[0]
            if top_m == "schemas" and top_d != "schemas":
                bad.append((m, d))
            if top_m == "trainer" and top_d == "pipeline":
                bad.append((m, d))
            if top_m == "pipeline" and top_d == "trainer" and d not in PIPELINE_MAY_IMPORT:
                bad.append((m, d))
    assert bad == []


def test_no_private_names_from_other_packages():
    bad = [(m, d, name) for m, deps in GRAPH.items() for d, names in deps.items() for name in names
           if name.startswith("_") and not name.startswith("__") and _package(d) not in (_package(m), m)]
    bad += [(m, d, name) for m, path in MODULES.items() for d, name in _private_attributes(m, path)
            if _package(d) not in (_package(m), m)]
    assert bad == []
