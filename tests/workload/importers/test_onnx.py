"""The ONNX importer: an export of each test module gives the same statistics as the module itself; a
symbolic batch takes `batch`; bad files give one StationaryError naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import export_onnx
from importer_nets import SMALL_CASES, MobileNetV2, ResNet18

from stationary.errors import StationaryError
from stationary.workload.importers.onnx import import_onnx
from stationary.workload.importers.torch_fx import import_module
from stationary.workload.layer import Layer
from stationary.workload.stats import network_stats
from stationary.workload.zoo import get_model

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
helper = onnx.helper


def mac_signature(layer: Layer) -> tuple:
    """What must agree per MAC layer. N, G, P, Q are compared as their product (the output positions per
    filter): the exporter folds attention heads into the batch (bmm over N*heads) and runs a batch-first
    nn.MultiheadAttention sequence-first, the same loop nest with bounds merged or swapped."""
    d = layer.bounds
    return (layer.kind.value, d["N"] * d["G"] * d["P"] * d["Q"], d["M"], d["C"], d["R"], d["S"], layer.stride,
            layer.padding, layer.dilation, layer.weights, layer.macs)


@pytest.mark.parametrize("case", sorted(SMALL_CASES))
def test_onnx_export_matches_module(case: str, to_onnx) -> None:
    factory, shape = SMALL_CASES[case]
    torch.manual_seed(0)
    module = factory().eval()
    from_torch = import_module(module, shape)
    from_onnx = import_onnx(to_onnx(module, shape, case))
    assert from_onnx.warnings == ()
    assert [mac_signature(x) for x in from_onnx.mac_layers()] == [mac_signature(x) for x in from_torch.mac_layers()]
    a, b = network_stats(from_torch), network_stats(from_onnx)
    assert (b.macs, b.weights, b.conv_layers, b.fc_layers) == (a.macs, a.weights, a.conv_layers, a.fc_layers)
    pools = [(x.bounds, x.stride, x.padding) for x in from_torch if x.kind.value == "pool"]
    assert [(x.bounds, x.stride, x.padding) for x in from_onnx if x.kind.value == "pool"] == pools


@pytest.mark.parametrize("name, factory", [("resnet18", ResNet18), ("mobilenet_v2", MobileNetV2)])
def test_onnx_of_zoo_networks(name: str, factory: type, tmp_path: Path) -> None:
    net = import_onnx(export_onnx(factory(), (1, 3, 224, 224), tmp_path / f"{name}.onnx"))
    got, want = network_stats(net), network_stats(get_model(name))
    assert (got.macs, got.weights, got.conv_layers, got.fc_layers) == (
        want.macs, want.weights, want.conv_layers, want.fc_layers)


def test_symbolic_batch_takes_batch(to_onnx) -> None:
    factory, shape = SMALL_CASES["conv_zoo"]
    path = to_onnx(factory(), shape, dynamic_batch=True)
    one = import_onnx(path)
    eight = import_onnx(path, batch=8)
    assert one.batch == 1 and eight.batch == 8 and eight.input_shape == (8, 3, 32, 32)
    assert network_stats(eight).macs == 8 * network_stats(one).macs


def test_fixed_batch_is_kept_and_can_be_overridden(to_onnx) -> None:
    path = to_onnx(SMALL_CASES["conv_zoo"][0](), (2, 3, 32, 32))
    assert import_onnx(path).batch == 2
    assert import_onnx(path, batch=4).batch == 4  # Flatten keeps the batch axis, so re-inference works


def _model(nodes: list, inputs: list, outputs: list, inits: list = ()) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_unknown_operator_is_named(tmp_path: Path) -> None:
    f = onnx.TensorProto.FLOAT
    w = helper.make_tensor("w", f, (4, 6), [0.0] * 24)
    model = _model(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="fc"),
         helper.make_node("CumSum", ["y", "axis"], ["z"], name="cum"),
         helper.make_node("Constant", [], ["axis"], value=helper.make_tensor("a", onnx.TensorProto.INT64, (), [1]))],
        [helper.make_tensor_value_info("x", f, ("n", 4))], [helper.make_tensor_value_info("z", f, None)], [w])
    model.graph.node.insert(1, model.graph.node.pop(2))  # Constant before CumSum
    path = tmp_path / "odd.onnx"
    onnx.save(model, path)
    net = import_onnx(path, batch=3)
    assert [(x.name, x.kind.value, x.N, x.C, x.M) for x in net] == [("fc", "fc", 3, 4, 6)]
    assert net.warnings == ("unsupported operator 'CumSum' (1 call: cum): skipped (no layer, nothing counted)",)


# ----- bad input -----------------------------------------------------------------------------------------
def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(StationaryError, match="no such file") as info:
        import_onnx(tmp_path / "nope.onnx")
    assert info.value.file.endswith("nope.onnx")


def test_malformed_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.onnx"
    path.write_bytes(b"this is not a protobuf \x00\xff\x13")
    with pytest.raises(StationaryError, match="bad.onnx: not a") as info:
        import_onnx(path)
    assert info.value.file == str(path)


def test_symbolic_spatial_dims_need_input_shape(to_onnx, tmp_path: Path) -> None:
    f = onnx.TensorProto.FLOAT
    model = _model([helper.make_node("Relu", ["x"], ["y"])],
                   [helper.make_tensor_value_info("x", f, ("n", 3, "h", "w"))],
                   [helper.make_tensor_value_info("y", f, None)])
    path = tmp_path / "dyn.onnx"
    onnx.save(model, path)
    with pytest.raises(StationaryError, match="symbolic dimension 'h' at position 2; give --input-shape"):
        import_onnx(path)
    net = import_onnx(path, input_shape=(2, 3, 5, 7))
    assert network_stats(net).other_ops == 2 * 3 * 5 * 7
    with pytest.raises(StationaryError, match="rank 4, --input-shape gives 2 dims"):
        import_onnx(path, input_shape=(2, 3))
