"""Dataclasses made from code compiled once per user, not at every start.

@dataclass writes the text of a class's methods (__init__, and as asked __repr__, __eq__,
__setattr__, __delattr__, __hash__) and compiles it at every import: for the ~85 classes
`edgec lint` loads, most of their creation (bench/results/compile.md). `dataclass` here is
the standard one with that compiled code kept between runs in the per-user cache directory
(edgec.usercache): one file per module, each code object under the text it was compiled
from, so a class that changes is compiled again and the others are not.
"""
from __future__ import annotations

import atexit
import dataclasses
import functools
import inspect
import marshal
import sys
import zlib

from . import usercache


def dataclass(cls=None, /, **options):
    """dataclasses.dataclass(cls, **options), the same class made from kept code."""
    if cls is None:
        return functools.partial(dataclass, **options)
    # dataclasses compiles each method's text with exec(text, globals, namespace): a global of
    # its module named exec is found before the built-in one, and runs the same text's kept code
    dataclasses.exec = _codes(cls.__module__).exec
    try:
        return dataclasses.dataclass(cls, **options)
    finally:
        dataclasses.__dict__.pop("exec", None)


def frozen(cls):
    """@dataclass(frozen=True, eq=False, repr=False)(cls) for a class of plain fields (no
    factory, InitVar, init=False, kw_only or __post_init__), made for less: its __init__ is
    the text @dataclass writes, from kept code, and the __setattr__ and __delattr__ that refuse
    every change are shared by all such classes, where @dataclass writes three functions per
    class. The IR's ~50 classes are made so (bench/results/compile.md)."""
    if {"__setattr__", "__delattr__", "__post_init__"} & set(cls.__dict__):
        raise TypeError(f"{cls.__name__}: a frozen class is made from its fields alone")
    documented = bool(cls.__doc__)
    if not documented:
        cls.__doc__ = cls.__name__  # @dataclass's text is written below, once there is an __init__
    cls = dataclasses.dataclass(init=False, eq=False, repr=False)(cls)
    cls.__dataclass_params__.init = cls.__dataclass_params__.frozen = True  # as made below
    cls.__init__ = _frozen_init(cls)
    cls.__setattr__, cls.__delattr__ = _frozen_setattr, _frozen_delattr
    if not documented:
        cls.__doc__ = cls.__name__ + str(inspect.signature(cls)).replace(" -> None", "")
    return cls


def _frozen_init(cls):
    """The __init__ @dataclass(frozen=True) writes: each parameter, annotated with its field's
    type and defaulting to its default, assigned through object.__setattr__."""
    own = dataclasses.fields(cls)
    if len(own) != len(cls.__dataclass_fields__) or any(
            f.default_factory is not dataclasses.MISSING or not f.init or f.kw_only is True or f.name == "self"
            for f in own):
        raise TypeError(f"{cls.__name__}: a frozen class has plain fields (no factory, InitVar, init=False, "
                        "kw_only or a field named self)")
    values = {"__dataclass_builtins_object__": object, "_return_type": None}
    params, body = [], []
    for f in own:
        values[f"_type_{f.name}"] = f.type
        default = ""
        if f.default is not dataclasses.MISSING:
            values[f"_dflt_{f.name}"] = f.default
            default = f"=_dflt_{f.name}"
        params.append(f"{f.name}:_type_{f.name}{default}")
        body.append(f"  __dataclass_builtins_object__.__setattr__(self,{f.name!r},{f.name})")
    text = (f"def __create_fn__({', '.join(values)}):\n"
            f" def __init__({','.join(['self', *params])})->_return_type:\n"
            + "\n".join(body or ["  pass"]) + "\n return __init__")
    namespace: dict = {}
    _codes(cls.__module__).exec(text, sys.modules[cls.__module__].__dict__, namespace)
    init = namespace["__create_fn__"](**values)
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


def _frozen_setattr(self, name, value):
    raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self, name):
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


class _Codes:
    """The code objects of one module's dataclasses, by the text they were compiled from:
    those of the last run that compiled any, kept in a file of this Python (marshalled code is
    read only by the Python that wrote it) and this installation of edgec (two checkouts or
    virtualenvs never take turns rewriting one file)."""

    def __init__(self, module: str) -> None:
        self._module = module
        self._kept: dict | None = None
        self._used: dict = {}
        self._compiled = False

    def exec(self, text: str, globals: dict, namespace: dict) -> None:
        exec(self.code(text), globals, namespace)

    def code(self, text: str):
        if self._kept is None:
            self._kept = self._load()
        code = self._kept.get(text)
        if code is None:
            # as exec(text) compiles it: no `from __future__` of this module applies
            code = compile(text, "<string>", "exec", dont_inherit=True)
            if not self._compiled:
                self._compiled = True
                atexit.register(self.save)
        self._used[text] = code
        return code

    def save(self) -> None:
        """Keep the code this run used, when it had to compile any (a first run, a class
        that changed)."""
        if self._compiled and self._file is not None:
            usercache.write(self._file, lambda f: marshal.dump(self._used, f))
        self._compiled = False

    @functools.cached_property
    def _file(self) -> str | None:
        where = zlib.crc32(__file__.encode("utf-8", "surrogateescape"))
        return usercache.path(f"dataclasses-{self._module}-{sys.implementation.cache_tag}-"
                              f"{sys.hexversion:x}-{where:08x}.marshal")

    def _load(self) -> dict:
        if self._file is not None:
            try:
                with open(self._file, "rb") as f:
                    kept = marshal.load(f)
                if isinstance(kept, dict):
                    return kept
            except (OSError, EOFError, ValueError, TypeError):  # none yet, or cut short
                pass
        return {}


@functools.cache
def _codes(module: str) -> _Codes:
    return _Codes(module)
