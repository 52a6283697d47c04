"""setuptools shim: everything is in pyproject.toml except cffi's build hook."""

import os
import sys

from setuptools import setup

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_ffi import cffi_module_specs  # noqa: E402

setup(cffi_modules=cffi_module_specs())
