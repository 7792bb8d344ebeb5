"""The ONNX importer refuses what it cannot count right: a channel mismatch, a re-batch the file's constants
break, an uncountable operator holding weights, a file too large; it folds shape arithmetic (integer Div and
Where on sizes) and counts ConvTranspose, 3-D Conv and Einsum as the PyTorch path does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import export_onnx
from importer_nets import TinyViT
from test_counted_ops import Conv3dNet, EinsumNet, TransposedNet

from stationary.errors import StationaryError
from stationary.workload.importers import onnx as onnx_importer
from stationary.workload.importers.onnx import import_onnx
from stationary.workload.importers.pytorch import import_module
from stationary.workload.stats import network_stats

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
helper, numpy_helper, TP = onnx.helper, onnx.numpy_helper, onnx.TensorProto


def _const(name: str, values: list[int]) -> onnx.NodeProto:
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.array(values, np.int64), name))


def _save(tmp_path: Path, nodes: list, x_shape: list, inits: list, name: str = "m") -> Path:
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TP.FLOAT, x_shape)],
                              [helper.make_tensor_value_info(nodes[-1].output[0], TP.FLOAT, None)], inits)
    path = tmp_path / f"{name}.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


@pytest.mark.parametrize("case, factory, shape", [("conv3d", Conv3dNet, (2, 3, 4, 16, 16)),
                                                  ("transposed", TransposedNet, (2, 4, 5)),
                                                  ("einsum", EinsumNet, (2, 6, 16))])
def test_onnx_counts_what_pytorch_counts(case: str, factory: type, shape: tuple[int, ...], to_onnx) -> None:
    torch.manual_seed(0)
    module = factory().eval()
    from_onnx = import_onnx(to_onnx(module, shape, case))
    assert from_onnx.warnings == ()
    assert network_stats(from_onnx).macs == network_stats(import_module(module, shape)).macs > 0


def test_conv_channels_come_from_the_weight(tmp_path: Path) -> None:
    w = numpy_helper.from_array(np.zeros((6, 3, 3, 3), np.float32), "w")  # expects 3 input channels
    path = _save(tmp_path, [helper.make_node("Conv", ["x", "w"], ["y"], name="conv")], [1, 4, 8, 8], [w])
    with pytest.raises(StationaryError, match="node 'conv'.*input has 4 channels but the weight .* expects 3"):
        import_onnx(path)


def test_rebatching_a_fixed_batch_file_is_exact(tmp_path: Path) -> None:
    """vit_b_16 exported at batch 1 gave 17.91 G MACs for --batch 4 (4x is 70.26 G): its constants fix the
    batch. Batch 4 must be exactly 4x the batch-1 count, with or without a dynamic batch axis."""
    torch.manual_seed(0)
    module = TinyViT().eval()
    one = network_stats(import_module(module, (1, 3, 32, 32))).macs
    assert network_stats(import_module(module, (4, 3, 32, 32))).macs == 4 * one
    fixed = export_onnx(module, (1, 3, 32, 32), tmp_path / "fixed.onnx")
    assert network_stats(import_onnx(fixed)).macs == one
    four = import_onnx(fixed, batch=4)
    assert network_stats(four).macs == 4 * one and four.batch == 4 and four.input_shape == (4, 3, 32, 32)
    assert "counted as 4 independent batch-1 inferences" in four.warnings[-1]
    dynamic = export_onnx(module, (1, 3, 32, 32), tmp_path / "dynamic.onnx", dynamic_batch=True)
    four = import_onnx(dynamic, batch=4)
    assert network_stats(four).macs == 4 * one and four.warnings == ()


def _baked_reshape(tmp_path: Path, batch: int) -> Path:
    """A Reshape to a baked-in shape that shape inference accepts at any batch: fc keeps 2*batch rows."""
    w = numpy_helper.from_array(np.zeros((12, 5), np.float32), "w")
    nodes = [_const("shape", [2 * batch, 12]), helper.make_node("Reshape", ["x", "shape"], ["r"]),
             helper.make_node("MatMul", ["r", "w"], ["y"], name="fc")]
    return _save(tmp_path, nodes, [batch, 2, 12], [w], name=f"baked{batch}")


def test_rebatch_that_does_not_scale_counts_copies_or_refuses(tmp_path: Path) -> None:
    path = _baked_reshape(tmp_path, 1)
    assert network_stats(import_onnx(path)).macs == 2 * 12 * 5
    net = import_onnx(path, batch=4)  # inference accepts batch 4 but fc would keep 2 rows: copies instead
    assert network_stats(net).macs == 4 * 2 * 12 * 5
    assert "layer 'fc' does 120 operations at batch 4 but 120 at batch 1" in net.warnings[-1]
    with pytest.raises(StationaryError, match="cannot re-batch this file exported at batch 2 to 3: layer 'fc'.*"
                                              "a batch that is a multiple of 2 is counted as independent"):
        import_onnx(_baked_reshape(tmp_path, 2), batch=3)


def test_shape_arithmetic_with_integer_div_and_where_is_folded(tmp_path: Path) -> None:
    """A channel shuffle whose group size is Shape -> Gather -> Div -> Where (as shufflenet and BERT exports
    compute sizes): ONNX's data propagation leaves the Reshape unknown; folding the integers resolves it."""
    nodes = [helper.make_node("Shape", ["x"], ["s"]), _const("i1", [1]),
             helper.make_node("Gather", ["s", "i1"], ["ch"], axis=0), _const("two", [2]),
             helper.make_node("Div", ["ch", "two"], ["half"]), _const("zero", [0]),
             helper.make_node("Equal", ["half", "zero"], ["isz"]), _const("one", [1]),
             helper.make_node("Where", ["isz", "one", "half"], ["half2"]), _const("pre", [1, 2]),
             _const("post", [4, 4]), helper.make_node("Concat", ["pre", "half2", "post"], ["shp"], axis=0),
             helper.make_node("Reshape", ["x", "shp"], ["r"]),
             helper.make_node("Transpose", ["r"], ["t"], perm=[0, 2, 1, 3, 4]), _const("back", [1, 8, 4, 4]),
             helper.make_node("Reshape", ["t", "back"], ["y0"]),
             helper.make_node("Conv", ["y0", "w"], ["y"], name="conv")]
    w = numpy_helper.from_array(np.zeros((6, 8, 3, 3), np.float32), "w")
    net = import_onnx(_save(tmp_path, nodes, [1, 8, 4, 4], [w]))
    assert [(x.name, x.macs) for x in net] == [("conv", 6 * 8 * 9 * 2 * 2)]


def test_size_left_unknown_names_the_node(tmp_path: Path) -> None:
    """A size read from data (NonZero) cannot be folded: the error names where the unknown size starts."""
    nodes = [helper.make_node("NonZero", ["x"], ["nz"], name="nonzero"),
             helper.make_node("Shape", ["nz"], ["s"]), _const("shape2", [-1, 4]),
             helper.make_node("Reshape", ["x", "shape2"], ["r"]),
             helper.make_node("Cast", ["nz"], ["nzf"], to=TP.FLOAT),
             helper.make_node("MatMul", ["nzf", "r"], ["y"], name="mm")]
    with pytest.raises(StationaryError, match="first node whose output size is unknown is NonZero 'nonzero'"):
        import_onnx(_save(tmp_path, nodes, [2, 4], []))


def test_uncountable_operator_holding_weights_is_refused(tmp_path: Path) -> None:
    f = TP.FLOAT
    w = numpy_helper.from_array(np.zeros((4, 6), np.float32), "w")
    big = numpy_helper.from_array(np.zeros((6, 6), np.float32), "big")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"], name="fc"),
             helper.make_node("Custom", ["y", "big"], ["z"], name="mystery", domain="vendor")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", f, [3, 4])],
                              [helper.make_tensor_value_info("z", f, [3, 6])], [w, big],
                              value_info=[helper.make_tensor_value_info("y", f, [3, 6])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("vendor", 1)])
    path = tmp_path / "custom.onnx"
    onnx.save(model, path)
    with pytest.raises(StationaryError, match=r"'vendor.Custom' \(1 call: mystery\) holds 36 of 60 parameters "
                                              r"\(60.00 %\)"):
        import_onnx(path)
    net = import_onnx(path, allow_skip=True)
    assert [x.name for x in net] == ["fc"] and "36 of 60 parameters (60.00 %) are not counted" in net.warnings[0]


def test_file_size_and_node_count_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nodes = [helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Relu", ["a"], ["b"])]
    path = _save(tmp_path, nodes, [1, 4], [])
    monkeypatch.setattr(onnx_importer, "MAX_ONNX_NODES", 1)
    with pytest.raises(StationaryError, match="the graph has 2 nodes, more than the 1 this importer reads"):
        import_onnx(path)
    monkeypatch.setattr(onnx_importer, "MAX_ONNX_BYTES", 10)
    with pytest.raises(StationaryError, match="bytes, more than the 10 an ONNX model can hold"):
        import_onnx(path)
