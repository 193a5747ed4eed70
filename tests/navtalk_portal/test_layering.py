"""The house's dependency rules (README, "How it works"): each app imports only the
layers below it, so there is no import cycle between apps, and the engine is a separate
service that shares nothing with the portal but the contract and the small library."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("navtalk", "lib", "cluster", "accounts", "keys", "jobs", "front", "engine", "automation", "api",
        "navtalk_portal")
ALLOWED = {
    "navtalk": set(),
    "lib": set(),
    "cluster": {"lib"},  # leases shared by machines (issue 13)
    "accounts": {"lib"},
    "keys": {"accounts", "lib", "navtalk"},
    "jobs": {"accounts", "keys", "lib", "navtalk"},
    "front": {"accounts", "automation", "cluster", "keys", "jobs", "lib", "navtalk"},
    "engine": {"lib", "navtalk"},
    "automation": {"accounts", "jobs", "keys", "lib"},  # presets, webhooks (issue 14)
    "api": {"accounts", "automation", "front", "jobs", "keys", "lib", "navtalk"},  # the REST API (issue 14)
    "navtalk_portal": set(APPS) - {"navtalk_portal"},
}


def imports_of(app: str) -> dict[str, set[str]]:
    """Every other app this app's modules import (at top level or inside functions)."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / app).rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top in APPS and top != app:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def test_each_app_imports_only_the_layers_below_it():
    violations = {app: {dep: sorted(files) for dep, files in imports_of(app).items() if dep not in ALLOWED[app]}
                  for app in ALLOWED}
    assert {app: v for app, v in violations.items() if v} == {}


def test_the_allowed_layers_have_no_cycle():
    seen, order = set(), []

    def visit(app, stack=()):
        assert app not in stack, f"cycle: {' -> '.join((*stack, app))}"
        if app in seen:
            return
        for dep in ALLOWED[app]:
            visit(dep, (*stack, app))
        seen.add(app)
        order.append(app)

    for app in ALLOWED:
        visit(app)
    assert order.index("navtalk") < order.index("jobs") < order.index("front")


MODULE_MAX_LINES = 420  # "each module small enough to read in one sitting" (~400 lines)


def test_every_module_is_small_enough_to_read_in_one_sitting():
    """Apps, tests and benchmarks alike; migrations are generated and exempt."""
    too_long = {}
    for folder in (*APPS, "tests", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            if "migrations" in path.parts or "node_modules" in path.parts:
                continue
            lines = len(path.read_text().splitlines())
            if lines > MODULE_MAX_LINES:
                too_long[str(path.relative_to(ROOT))] = lines
    assert too_long == {}
