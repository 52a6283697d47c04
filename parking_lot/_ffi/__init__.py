"""Generated cffi modules (written at build time by build_ffi.py; never committed)."""
