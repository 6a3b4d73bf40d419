def helpers_modules() -> dict[str, Path]:
    """Every module of the helpers package by its dotted name under helpers ("app.reader"); packages' __init__ apart."""
    return {".".join(path.relative_to(HELPERS).with_suffix("").parts): path
            for path in HELPERS.rglob("*.py") if path.name != "__init__.py" and "__pycache__" not in path.parts}


def helpers_imports() -> dict[str, set[str]]:
    """Each helpers module and the helpers modules it imports, at the top or inside functions (read from the
    source, so an import placed inside a function counts as much as one at the top)."""
    modules = helpers_modules()
    graph = {}
    for name, path in modules.items():
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("helpers."):
                package = node.module.removeprefix("helpers.")
                children = {f"{package}.{alias.name}" for alias in node.names} & modules.keys()
                imported |= children or ({package} & modules.keys())
            elif isinstance(node, ast.Import):
                imported |= {alias.name.removeprefix("helpers.") for alias in node.names} & modules.keys()
        graph[name] = imported - {name}
    return graph


def reached(graph: dict[str, set[str]], start: set[str]) -> set[str]:
    """Every module `start` imports, directly or through others."""
    seen, todo = set(), list(start)
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(graph.get(module, ()))
    return seen
