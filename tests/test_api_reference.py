"""The API reference in docs/ covers every public module (tools/docs-build.sh builds it)."""

from __future__ import annotations

import os
import re

from test_docstrings import public_modules

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")


def _read(*parts: str) -> str:
    with open(os.path.join(DOCS, *parts), encoding="utf-8") as handle:
        return handle.read()


def test_every_public_module_has_a_page_in_the_table_of_contents():
    pages = {}
    for name in os.listdir(os.path.join(DOCS, "api")):
        if name.endswith(".rst"):
            for module in re.findall(r"^\.\. automodule:: (\S+)$", _read("api", name), re.M):
                pages[module] = "api/" + name[: -len(".rst")]
    listed = set(re.findall(r"^   (api/\S+)$", _read("index.rst"), re.M))
    for module in public_modules():
        page = pages.get(module.__name__)
        assert page is not None, (
            f"{module.__name__} has no page: add docs/api/<name>.rst (copy one) and list it in docs/index.rst"
        )
        assert page in listed, f"docs/{page}.rst is not in docs/index.rst's table of contents"


def test_each_page_runs_its_examples_in_its_modules_namespace():
    # As doctest.testmod does (tests/test_doctests.py): the examples may use the module's names.
    for name in os.listdir(os.path.join(DOCS, "api")):
        if name.endswith(".rst"):
            text = _read("api", name)
            (module,) = re.findall(r"^\.\. automodule:: (\S+)$", text, re.M)
            assert f"   import {module} as _module\n" in text.split(".. automodule::")[0], name


def test_the_architecture_document_is_part_of_the_reference():
    assert re.search(r"^   architecture$", _read("index.rst"), re.M)
    assert "myst_parser" in _read("conf.py")


def test_the_build_treats_warnings_as_errors_and_runs_the_examples():
    with open(os.path.join(ROOT, "tools", "docs-build.sh"), encoding="utf-8") as handle:
        script = handle.read()
    assert re.search(r"sphinx-build\" -b html -W --keep-going", script)
    assert re.search(r"sphinx-build\" -b doctest -W --keep-going", script)
