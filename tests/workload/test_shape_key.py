"""`Layer.shape`, the one shape key: a layer's name, producers and operator never split a cache; every
other field does."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from stationary.workload.layer import Layer, LayerKind, conv2d

PLACEMENT = {"name", "inputs", "op"}  # where a layer sits in a network, not what it computes
BASE = Layer("base", LayerKind.CONV, N=2, G=3, M=4, C=5, P=6, Q=7, R=3, S=2, H=9, W=8, stride=(1, 1),
             dilation=(1, 1), padding=(0, 0), bias=False, inputs=("x",), op="Conv2d")

pos = st.integers(1, 64)
pair = st.tuples(st.integers(1, 4), st.integers(1, 4))
#: a valid replacement value for every shape field of BASE (a new Layer field must be added here)
SHAPE_VALUES: dict[str, st.SearchStrategy[Any]] = {
    **{d: pos for d in ("N", "G", "M", "C", "P", "Q", "R", "S", "H", "W", "ops_per_output", "num_inputs")},
    "kind": st.sampled_from(list(LayerKind)),
    "stride": pair, "dilation": pair, "padding": st.tuples(st.integers(0, 3), st.integers(0, 3)),
    "bias": st.booleans(), "weights_are_parameters": st.booleans(), "transposed": st.booleans(),
}
names = st.text(max_size=12)
wiring = st.lists(st.text(max_size=6), max_size=3).map(tuple)


def test_every_field_is_placement_or_shape() -> None:
    assert {f.name for f in fields(Layer)} == PLACEMENT | set(SHAPE_VALUES)


@settings(max_examples=200, deadline=None)
@given(names, wiring, names, names, wiring, names)
def test_name_inputs_and_op_share_one_key(n1: str, i1: tuple[str, ...], o1: str, n2: str, i2: tuple[str, ...],
                                          o2: str) -> None:
    a, b = replace(BASE, name=n1, inputs=i1, op=o1), replace(BASE, name=n2, inputs=i2, op=o2)
    assert a.shape == b.shape and hash(a.shape) == hash(b.shape)
    assert len({a.shape: 0, b.shape: 1}) == 1
    assert (a.shape.name, a.shape.inputs, a.shape.op) == ("", (), "")


@st.composite
def changed_field(draw: st.DrawFn) -> tuple[str, Any]:
    name = draw(st.sampled_from(sorted(SHAPE_VALUES)))
    value = draw(SHAPE_VALUES[name].filter(lambda v: v != getattr(BASE, name)))
    return name, value


@settings(max_examples=300, deadline=None)
@given(changed_field(), names, names)
def test_any_shape_field_splits_the_key(change: tuple[str, Any], n1: str, n2: str) -> None:
    name, value = change
    base = replace(BASE, name=n1)
    other = replace(base, name=n2, **{name: value})
    assert base.shape != other.shape
    assert len({base.shape: 0, other.shape: 1}) == 2
    assert getattr(other.shape, name) == value


def test_the_shape_is_computed_once_and_is_its_own_shape() -> None:
    layer = conv2d("conv1", 3, 8, 16, 3, padding=1, inputs=("",), op="Conv2d")
    assert layer.shape is layer.shape
    assert layer.shape.shape == layer.shape
    assert layer.shape.loop_nest().bounds == layer.loop_nest().bounds
    assert layer.shape.macs == layer.macs
