"""The README's Python examples run as written."""

from __future__ import annotations

import os
import re
import sys

import pytest

from conftest import BOUND, run_child, subprocess_env

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")
BLOCKS = re.findall(r"```python\n(.*?)```", open(README, encoding="utf-8").read(), re.S)


def test_the_readme_has_examples():
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index, tmp_path):
    result = run_child(
        [sys.executable, "-c", BLOCKS[index]], capture_output=True, text=True, timeout=max(BOUND, 60), cwd=tmp_path,
        env=subprocess_env(),
    )
    assert result.returncode == 0, result.stderr


def test_links_work_outside_the_repository():
    # The README is the package's long description on an index, where relative links to files of
    # the repository lead nowhere: every link must be absolute.
    text = open(README, encoding="utf-8").read()
    targets = re.findall(r"\]\(([^)\s]+)\)", text) + re.findall(r"^\[[^\]]+\]:\s*(\S+)", text, re.M)
    relative = [target for target in targets if not re.match(r"https?://", target)]
    assert relative == []


ROOT = os.path.dirname(README)
#: A snippet labelled with the example file it comes from: "... (`examples/NAME.py`):" right above it.
LABELLED = re.findall(r"\(`(examples/[\w.-]+\.py)`\):\n\n```python\n(.*?)```", open(README, encoding="utf-8").read(), re.S)


def _imported_names(source):
    names = set()
    for module, imported in re.findall(r"^from (parking_lot[\w.]*) import ([^\n]+)", source, re.M):
        names.update(f"{module}.{name.strip()}" for name in imported.strip("() ").split(","))
    return names


def test_a_snippet_labelled_with_an_example_is_that_examples_program():
    """What a snippet imports from parking_lot, the example its label names imports too."""
    for path, block in LABELLED:
        with open(os.path.join(ROOT, path), encoding="utf-8") as handle:
            example = handle.read()
        missing = _imported_names(block) - _imported_names(example)
        assert not missing, f"{path} does not use {sorted(missing)}: the label names another program"


def test_every_example_the_readme_names_exists():
    for path in set(re.findall(r"examples/[\w.-]+\.py", open(README, encoding="utf-8").read())):
        assert os.path.exists(os.path.join(ROOT, path)), path
