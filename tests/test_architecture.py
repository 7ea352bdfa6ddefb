"""The layering rules, checked on the source: apps depend in one direction
(dashboard → routing → aliases, teams → providers → audit; apitokens stands alone), and the pure
modules import no Django, httpx or asyncio, so they stay testable without I/O."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOWER_LAYERS = {
    "audit": set(),
    "apitokens": {"audit"},
    "providers": {"audit"},
    "aliases": {"providers", "audit"},
    "teams": {"providers", "audit"},
    "routing": {"aliases", "providers", "teams"},
    "dashboard": {"routing", "aliases", "providers", "teams"},
}
PURE_MODULES = [
    "routing/translation",
    "routing/sse.py",
    "routing/errors.py",
    "routing/resolution.py",
    "routing/table.py",
    "routing/limits/windows.py",
    "routing/limits/rules.py",
    "routing/catalog.py",
    "routing/adapters/http.py",
    "routing/adapters/openai_answers.py",
    "routing/adapters/bedrock.py",
    "routing/adapters/vertex.py",
    "routing/adapters/first_frame.py",
    "providers/endpoints.py",
    "providers/loaders.py",
    "audit/masking.py",
    "dashboard/stats.py",
]
FORBIDDEN_IN_PURE = ("django", "httpx", "asyncio", "aiohttp")


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def python_files(relative: str) -> list[Path]:
    target = ROOT / relative
    files = [target] if target.is_file() else sorted(target.rglob("*.py"))
    return [f for f in files if "migrations" not in f.parts]


@pytest.mark.parametrize("app", sorted(LOWER_LAYERS))
def test_apps_depend_in_one_direction(app: str) -> None:
    allowed = LOWER_LAYERS[app] | {app}
    for path in python_files(app):
        for module in imported_modules(path):
            top = module.split(".")[0]
            if top in LOWER_LAYERS:
                assert top in allowed, f"{path.relative_to(ROOT)} imports {module}"


@pytest.mark.parametrize("relative", PURE_MODULES)
def test_pure_modules_do_no_io(relative: str) -> None:
    for path in python_files(relative):
        for module in imported_modules(path):
            assert module.split(".")[0] not in FORBIDDEN_IN_PURE, f"{path.relative_to(ROOT)} imports {module}"
