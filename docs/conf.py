"""Sphinx configuration of the API reference (built by tools/docs-build.sh)."""

from __future__ import annotations

import parking_lot

project = "parking-lot-cffi"
author = "the parking-lot-cffi authors"
copyright = "the parking-lot-cffi authors"
release = parking_lot.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",  # the Args: / Returns: / Raises: sections of the docstrings
    "sphinx.ext.doctest",  # `sphinx-build -b doctest` runs the docstrings' examples
    "sphinx.ext.viewcode",
    "myst_parser",  # architecture.md, as it is in the repository
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "description"  # the hints in the text, where a signature would wrap
autodoc_preserve_defaults = True
# The annotations name types a reader cannot follow to a page here (cffi's, typing's
# TypeVars): let them stand as written.
nitpicky = False

napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

# architecture.md's section titles are linked to from the pages.
myst_heading_anchors = 3

html_theme = "alabaster"
html_title = f"parking-lot-cffi {release}"
html_theme_options = {"description": "Rust's parking_lot for Python", "fixed_sidebar": True}

# The doctest builder: each page imports its module's namespace (its testsetup), as
# tests/test_doctests.py runs each module's examples with doctest.testmod.
doctest_test_doctest_blocks = "default"
