"""The README's Python examples run as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from conftest import BOUND, subprocess_env

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")
BLOCKS = re.findall(r"```python\n(.*?)```", open(README, encoding="utf-8").read(), re.S)


def test_the_readme_has_examples():
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index, tmp_path):
    result = subprocess.run(
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
