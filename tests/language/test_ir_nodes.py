"""IR nodes are made, compare, hash, print and refuse changes as frozen dataclasses do
(edgec/ir.py writes __eq__, __hash__ and __repr__ once for all of them instead of letting
@dataclass generate them per class, and the rest is made from code edgec.keptcode keeps)."""
from __future__ import annotations

import dataclasses
import inspect
import pathlib

import pytest

from edgec import ir
from edgec.diagnostics import Span
from edgec.pipeline import compile_file

SAMPLE = pathlib.Path(__file__).parents[2] / "samples" / "shop.edge"
NODES = [c for _, c in inspect.getmembers(ir, inspect.isclass)
         if dataclasses.is_dataclass(c) and c.__module__ == ir.__name__]


def _twin(cls):
    """The same class as @dataclass(frozen=True) generates it."""
    return dataclasses.dataclass(frozen=True)(
        type(cls.__name__, (), {"__annotations__": cls.__annotations__, "__module__": cls.__module__,
                                "__qualname__": cls.__qualname__,
                                **{f.name: f for f in _fresh_fields(cls)}}))


def _fresh_fields(cls):
    for f in dataclasses.fields(cls):
        copy = dataclasses.field(default=f.default, default_factory=f.default_factory, repr=f.repr,
                                 hash=f.hash, compare=f.compare, metadata=f.metadata, kw_only=f.kw_only)
        copy.name = f.name
        yield copy


def _as_twin(node, twins):
    if dataclasses.is_dataclass(node) and type(node).__module__ == ir.__name__:
        twin = twins.setdefault(type(node), _twin(type(node)))
        return twin(**{f.name: _as_twin(getattr(node, f.name), twins) for f in dataclasses.fields(node)})
    if isinstance(node, tuple):
        return tuple(_as_twin(n, twins) for n in node)
    return node


def _walk(node):
    if dataclasses.is_dataclass(node):
        yield node
        for f in dataclasses.fields(node):
            yield from _walk(getattr(node, f.name))
    elif isinstance(node, (tuple, list)):
        for n in node:
            yield from _walk(n)


@pytest.fixture(scope="module")
def edge():
    result = compile_file(str(SAMPLE), "dev")
    assert result.edge is not None
    return result.edge


def test_every_ir_class_is_a_frozen_node():
    assert len(NODES) > 40
    for cls in NODES:
        assert cls.__dataclass_params__.frozen, cls


def test_made_as_a_generated_frozen_dataclass():
    for cls in NODES:
        twin = _twin(cls)
        assert inspect.signature(cls) == inspect.signature(twin), cls  # names, order, annotations
        assert repr(cls.__init__.__defaults__) == repr(twin.__init__.__defaults__), cls
        assert cls.__init__.__qualname__ == twin.__init__.__qualname__
        assert cls.__match_args__ == twin.__match_args__
        if cls.__doc__.startswith(cls.__name__ + "("):  # no docstring: @dataclass writes the signature
            assert cls.__doc__ == twin.__doc__
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'port'"):
        ir.HttpsRedirect()
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        ir.HttpsRedirect(443, colour=1)


def test_repr_and_hash_are_those_of_a_generated_frozen_dataclass(edge):
    twins: dict = {}
    nodes = list(_walk(edge))
    assert len({type(n) for n in nodes}) > 15
    for node in nodes:
        twin = _as_twin(node, twins)
        assert repr(node) == repr(twin)
        assert hash(node) == hash(twin)


def test_equal_when_every_compared_field_is_equal(edge):
    again = compile_file(str(SAMPLE), "dev").edge
    assert again is not edge and again == edge and hash(again) == hash(edge)
    route = edge.routes[0]
    assert dataclasses.replace(route, name=route.name + "x") != route
    # where a node came from is not part of what it is
    assert dataclasses.replace(route, span=Span(99, 1, 99, 2)) == route


def test_nodes_of_different_classes_are_never_equal():
    assert ir.HttpsRedirect(443, 301) != ir.Keepalive(443, 301)
    assert ir.HttpsRedirect(443).__eq__(443) is NotImplemented


def test_a_node_cannot_be_changed(edge):
    with pytest.raises(dataclasses.FrozenInstanceError):
        edge.name = "other"
    with pytest.raises(dataclasses.FrozenInstanceError):
        del edge.routes
