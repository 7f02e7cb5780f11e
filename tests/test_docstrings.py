"""Every public function, method and class in app/ says what it is (issue 8, kind 11).

Public means: not starting with an underscore, at module level or inside a
public class. Flask view functions count too: their docstring is what a
newcomer reads to learn what the route shows.
"""

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"


def _undocumented(tree: ast.Module, path: Path) -> list[str]:
    missing = []

    def walk(body, prefix=""):
        for node in body:
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            if node.name.startswith("_"):
                continue
            if not ast.get_docstring(node):
                missing.append(f"{path.relative_to(APP.parent)}:{node.lineno} {prefix}{node.name}")
            if isinstance(node, ast.ClassDef):
                walk(node.body, f"{prefix}{node.name}.")

    walk(tree.body)
    return missing


def test_the_walk_finds_a_missing_docstring():
    tree = ast.parse("def shown():\n    pass\n\nclass Kept:\n    def method(self):\n        '''Said.'''\n")
    assert _undocumented(tree, APP / "example.py") == ["app/example.py:1 shown", "app/example.py:4 Kept"]


def test_every_public_function_and_class_has_a_docstring():
    missing = [
        item
        for path in sorted(APP.rglob("*.py"))
        for item in _undocumented(ast.parse(path.read_text(encoding="utf-8")), path)
    ]
    assert missing == []
