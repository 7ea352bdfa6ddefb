"""The layering rules, checked on the source: apps depend in one direction
(dashboard → routing → aliases, teams, pricing → providers → audit; apitokens stands alone), and the pure
modules import no Django, httpx or asyncio, so they stay testable without I/O.

The routing table's shape: front doors (``routing/doors``) never import each other,
upstream adapters (``routing/upstreams``) never import a door, and no code outside
``providers/`` compares ``api_format`` with a bare string (``ApiFormat`` is the one enum)."""

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
    "pricing": {"providers", "audit"},
    "routing": {"aliases", "providers", "teams", "pricing"},
    "dashboard": {"routing", "aliases", "providers", "teams"},
}
# The one upward import allowed: pricing's shapes name the snapshot's provider config
# (``routing.table``, pure data that imports nothing of routing's).
UPWARD_SHAPES = {"pricing": {"routing.table"}}
PURE_MODULES = [
    "pricing/costs.py",
    "pricing/genai.py",
    "pricing/table.py",
    "pricing/loaders.py",
    "routing/translation",
    "routing/sse.py",
    "routing/errors.py",
    "routing/resolution.py",
    "routing/table.py",
    "routing/limits/windows.py",
    "routing/limits/rules.py",
    "routing/catalog.py",
    "routing/formats.py",
    "providers/families.py",
    "routing/adapters/http.py",
    "routing/adapters/openai_answers.py",
    "routing/adapters/bedrock.py",
    "routing/adapters/vertex.py",
    "routing/adapters/first_frame.py",
    "providers/endpoints.py",
    "providers/loaders.py",
    "providers/groups.py",
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
            if top in LOWER_LAYERS and module not in UPWARD_SHAPES.get(app, ()):
                assert top in allowed, f"{path.relative_to(ROOT)} imports {module}"


@pytest.mark.parametrize("relative", PURE_MODULES)
def test_pure_modules_do_no_io(relative: str) -> None:
    for path in python_files(relative):
        for module in imported_modules(path):
            assert module.split(".")[0] not in FORBIDDEN_IN_PURE, f"{path.relative_to(ROOT)} imports {module}"


DOORS = ROOT / "routing" / "doors"
UPSTREAMS = ROOT / "routing" / "upstreams"
# In routing/doors but not doors: the table rule every door dispatches with.
DOOR_SHARED = {"__init__", "dispatch"}


def _door_modules() -> list[Path]:
    return [path for path in sorted(DOORS.glob("*.py")) if path.stem not in DOOR_SHARED]


def test_there_is_one_module_per_door() -> None:
    assert {path.stem for path in _door_modules()} >= {"messages", "chat_completions", "responses"}


@pytest.mark.parametrize("path", _door_modules(), ids=lambda path: path.stem)
def test_doors_never_import_each_other(path: Path) -> None:
    for module in imported_modules(path):
        if module.startswith("routing.doors."):
            assert module.removeprefix("routing.doors.") in DOOR_SHARED, f"{path.name} imports {module}"


@pytest.mark.parametrize("path", sorted(UPSTREAMS.glob("*.py")), ids=lambda path: path.stem)
def test_upstream_adapters_never_import_doors(path: Path) -> None:
    for module in imported_modules(path):
        assert not module.startswith("routing.doors"), f"{path.name} imports {module}"


def _mentions_api_format(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "api_format") or (
        isinstance(node, ast.Name) and node.id == "api_format"
    )


def _is_string(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return True
    return isinstance(node, ast.Tuple | ast.List | ast.Set) and any(_is_string(item) for item in node.elts)


def string_comparisons_of_api_format(path: Path) -> list[int]:
    """Lines where ``api_format`` is compared (==, !=, in, not in) with a string literal."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        if any(_mentions_api_format(o) for o in operands) and any(_is_string(o) for o in operands):
            lines.append(node.lineno)
    return lines


def test_string_comparison_check_finds_what_it_should(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('ok = provider.api_format == ApiFormat.OPENAI\nbad = p.api_format in ("openai", "x")\n')
    assert string_comparisons_of_api_format(sample) == [2]


@pytest.mark.parametrize("app", sorted((set(LOWER_LAYERS) - {"providers"}) | {"vandamme", "tests"}))
def test_api_format_is_never_compared_with_a_string_outside_providers(app: str) -> None:
    for path in python_files(app):
        assert not string_comparisons_of_api_format(path), f"{path.relative_to(ROOT)}: compare with ApiFormat"
