"""Every public definition of the package has a docstring (the API reference is built from them).

Public: every module of ``parking_lot`` whose dotted name has no part starting with ``_``
(so not ``_ffi``, ``__main__`` or a private module), every class and function such a module
offers (its ``__all__``, else its names without a leading ``_``) that the package defines,
and every method and property without a leading ``_`` that those classes (and their bases
in the package) define.  A dataclass's or named tuple's generated ``Name(field, ...)``
text does not count as a docstring.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import types
from collections.abc import Iterator

import parking_lot


def public_modules() -> Iterator[types.ModuleType]:
    yield parking_lot
    for info in pkgutil.walk_packages(parking_lot.__path__, "parking_lot."):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            yield importlib.import_module(info.name)


def _has_docstring(obj: object) -> bool:
    if inspect.isclass(obj):
        doc = vars(obj).get("__doc__")
        if not isinstance(doc, str):
            return False  # none, or 3.15's lazily generated dataclass docstring (not a str)
        generated = doc.startswith(f"{obj.__name__}(") and "\n" not in doc.strip()
        return bool(doc.strip()) and not generated
    return bool(getattr(obj, "__doc__", None) and obj.__doc__.strip())  # type: ignore[union-attr]


def undocumented(modules: list[types.ModuleType], package: str = "parking_lot") -> tuple[list[str], int]:
    """The public definitions of *modules* without a docstring, and how many were looked at."""
    missing: list[str] = []
    seen: set[int] = set()
    classes_seen: set[type] = set()
    looked_at = 0

    def check(obj: object, name: str) -> None:
        nonlocal looked_at
        looked_at += 1
        if not _has_docstring(obj):
            missing.append(name)

    for module in modules:
        check(module, module.__name__)
        names = getattr(module, "__all__", None)
        if names is None:
            names = [name for name in vars(module) if not name.startswith("_")]
        for name in names:
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)) or id(obj) in seen:
                continue
            if not getattr(obj, "__module__", "").startswith(package):
                continue  # imported from elsewhere: not ours to document
            seen.add(id(obj))
            check(obj, f"{obj.__module__}.{obj.__qualname__}")
            if not inspect.isclass(obj):
                continue
            for klass in obj.__mro__:
                if not klass.__module__.startswith(package) or klass in classes_seen:
                    continue
                classes_seen.add(klass)
                for member_name, member in vars(klass).items():
                    if member_name.startswith("_"):
                        continue
                    if isinstance(member, (staticmethod, classmethod)):
                        member = member.__func__
                    if isinstance(member, property) or inspect.isfunction(member):
                        check(member, f"{klass.__module__}.{klass.__qualname__}.{member_name}")
    return sorted(set(missing)), looked_at


def test_every_public_definition_has_a_docstring():
    missing, looked_at = undocumented(list(public_modules()))
    assert looked_at >= 250, f"only {looked_at} public definitions found: the walk is missing modules"
    assert missing == [], "public definitions without a docstring:\n" + "\n".join(missing)


def test_the_check_finds_what_lacks_a_docstring():
    # A module made here, with one of each kind of definition undocumented (and documented).
    module = types.ModuleType("parking_lot_fake", "A module.")
    source = '''
import dataclasses
def bare(): pass
def told():
    """Told."""
class Bare:
    def method(self): pass
    @property
    def prop(self): return 1
    def _private(self): pass
class Told:
    """Told."""
    def method(self):
        """Told."""
@dataclasses.dataclass
class Generated:
    x: int
'''
    exec(compile(source, "<fake>", "exec", dont_inherit=True), module.__dict__)
    for value in vars(module).values():
        if inspect.isclass(value) or inspect.isfunction(value):
            value.__module__ = "parking_lot_fake"
    missing, _ = undocumented([module], package="parking_lot_fake")
    assert missing == [
        "parking_lot_fake.Bare", "parking_lot_fake.Bare.method", "parking_lot_fake.Bare.prop",
        "parking_lot_fake.Generated", "parking_lot_fake.bare",
    ]
    bare_module = types.ModuleType("parking_lot_bare")
    assert undocumented([bare_module])[0] == ["parking_lot_bare"]
