"""The shape of the code (DESIGN §5): no two modules of the product import each other, directly or in a
circle, and nothing imports a private name from another module. Read from the source, no imports run."""
import ast
import functools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gmp_complaints", "audit", "signatures")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


@functools.cache  # each file parsed once per run, not once per parametrized test
def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module imported, names imported) for every import in the file, at any depth."""
    result = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            result.append((node.module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            result.extend((alias.name, []) for alias in node.names)
    return result


def _graph(modules) -> dict[str, set[str]]:
    graph = {name: set() for name in modules}
    for name, path in modules.items():
        for target, names in _imports(path):
            for candidate in [target] + [f"{target}.{n}" for n in names]:
                # A module may use its own package (the app factory and shared helpers of ``__init__``):
                # the package registering its parts is not a circle.
                if candidate in modules and candidate != name and not name.startswith(candidate + "."):
                    graph[name].add(candidate)
    return graph


def _cycle_through(graph, start) -> list[str] | None:
    stack = [(start, [start])]
    seen = set()
    while stack:
        node, path = stack.pop()
        for nxt in graph[node]:
            if nxt == start:
                return path + [start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, path + [nxt]))
    return None


# The services and the HTTP layers, whose circles issue 12 broke; the rest of the tree still has some.
GUARDED = ("gmp_complaints.services.complaint_records", "gmp_complaints.services.complaint_repository",
           "gmp_complaints.services.complaint_intake",
           "gmp_complaints.services.complaint_steps", "gmp_complaints.services.complaint_queries",
           "gmp_complaints.services.approvals", "gmp_complaints.services.investigation",
           "gmp_complaints.services.waiting", "gmp_complaints.services.schemas", "gmp_complaints.api",
           "gmp_complaints.web", "gmp_complaints.printing", "gmp_complaints.archive_jobs", "gmp_complaints.cli",
           "gmp_complaints.services.recalls", "gmp_complaints.services.notifications",
           "gmp_complaints.services.configuration")
# Printing and archiving run from the CLI and the job runner with the app and no request: none of them
# (nor the translation and audit texts they use) imports the web layer.
OUTSIDE_WEB = ("gmp_complaints.printing", "gmp_complaints.archive_jobs", "gmp_complaints.cli",
               "gmp_complaints.i18n", "gmp_complaints.audit_text")


@pytest.mark.parametrize("module", GUARDED)
def test_no_import_circle_runs_through_these_modules(module):
    assert _cycle_through(_graph(_modules()), module) is None


@pytest.mark.parametrize("module", OUTSIDE_WEB)
def test_printing_and_archiving_do_not_import_the_web_layer(module):
    modules = _modules()
    imported = [candidate for target, names in _imports(modules[module])
                for candidate in [target] + [f"{target}.{n}" for n in names]]
    assert [m for m in imported if m == "gmp_complaints.web" or m.startswith("gmp_complaints.web.")] == []


def test_no_private_name_of_a_complaint_service_is_imported_elsewhere():
    modules = _modules()
    offenders = []
    for name, path in modules.items():
        for target, names in _imports(path):
            if target.startswith("gmp_complaints.services.") and target != name:
                offenders += [f"{name} imports {target}.{n}" for n in names if n.startswith("_")]
    assert offenders == []


def test_every_library_the_product_imports_is_installed_by_its_runtime_lock():
    """Production installs ``requirements.lock`` (README, IQ), not the test lock: a library imported only there
    fails on the first long audit-trail PDF in production (pypdf did) while every test passes."""
    import re
    import sys
    from importlib.metadata import packages_distributions

    def normalised(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    lock = ROOT / "gmp_complaints" / "release" / "requirements.lock"
    locked = {normalised(re.split(r"[=<>!~ ;\[]", line)[0]) for line in lock.read_text().splitlines()
              if re.match(r"[A-Za-z0-9]", line)}
    distributions = packages_distributions()
    first_party = {*PACKAGES, "validation", "migrations"}
    imported = {target.split(".")[0]: path for path in _modules().values() for target, _ in _imports(path)}
    third_party = {top: path for top, path in imported.items()
                   if top not in sys.stdlib_module_names and top not in first_party}
    assert {"flask", "weasyprint", "pypdf"} <= set(third_party)
    missing = {top: str(path.relative_to(ROOT)) for top, path in third_party.items()
               if not any(normalised(d) in locked for d in distributions.get(top, [top]))}
    assert not missing, f"imported by the product but not in requirements.lock: {missing}"


def test_a_pdf_layout_worker_loads_neither_flask_nor_sqlalchemy():
    """The parts of a long audit trail are laid out in spawned processes that import gmp_complaints.documents:
    the package itself must stay light (40 MB and half a second per worker otherwise; bench_audit_trail_pdf)."""
    import subprocess
    import sys

    loaded = subprocess.run([sys.executable, "-c", "import sys, gmp_complaints.documents; "
                             "print(sorted(m for m in ('flask', 'sqlalchemy', 'flask_babel') if m in sys.modules))"],
                            cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"
