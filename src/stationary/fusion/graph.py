"""Which tensor of one layer is which tensor of the next: producer -> consumer edges and fusible groups."""

from __future__ import annotations

from dataclasses import dataclass

from stationary.errors import StationaryError
from stationary.workload.layer import Layer, LayerKind
from stationary.workload.network import Network

NETWORK_INPUT = ""  # the producer name of the network's input tensor


@dataclass(frozen=True)
class Edge:
    """Producer's output feeds `operand` of the consumer; `channel_offset` places it in a concatenation."""

    producer: str  # "" = the network input
    consumer: str
    operand: str  # "Inputs", "Inputs<k>" (element-wise operand k) or "Weights" (a matmul's activation operand)
    channel_offset: int = 0


def row_window(layer: Layer) -> tuple[int, int, int, int]:
    """(kernel, stride, dilation, padding) along rows: how an output row range maps to input rows."""
    if layer.kind in (LayerKind.CONV, LayerKind.POOL):
        return layer.R, layer.stride[0], layer.dilation[0], layer.padding[0]
    return 1, 1, 1, 0


def col_window(layer: Layer) -> tuple[int, int, int, int]:
    """(kernel, stride, dilation, padding) along columns."""
    if layer.kind in (LayerKind.CONV, LayerKind.POOL):
        return layer.S, layer.stride[1], layer.dilation[1], layer.padding[1]
    return 1, 1, 1, 0


def out_channels(layer: Layer) -> int:
    """Channels of a layer's output feature map (all groups)."""
    return layer.G * layer.M


def out_hw(layer: Layer) -> tuple[int, int]:
    """Rows x columns of a layer's output (tokens x 1 for fc and matmul)."""
    return layer.P, layer.Q


def edges(net: Network) -> list[Edge]:
    """Every producer -> consumer edge; the first layer without inputs reads the network input."""
    by_name = {x.name: x for x in net.layers}
    out: list[Edge] = []
    for k, layer in enumerate(net.layers):
        srcs = layer.inputs or ((NETWORK_INPUT,) if k == 0 else ())
        if layer.kind == LayerKind.ELTWISE:
            out += [Edge(s, layer.name, f"Inputs{i}") for i, s in enumerate(srcs)]
        elif layer.kind == LayerKind.MATMUL and not layer.weights_are_parameters and len(srcs) == 2:
            out += [Edge(srcs[0], layer.name, "Inputs"), Edge(srcs[1], layer.name, "Weights")]
        else:
            offset = 0
            for s in srcs:  # several producers of one operand: a channel concatenation
                out.append(Edge(s, layer.name, "Inputs", offset))
                offset += out_channels(by_name[s]) if s else layer.C * layer.G
    return out


def fusible_edge(edge: Edge, net: Network) -> str:
    """Why `edge` cannot carry a tile-by-tile intermediate ("" when it can): rows must line up one to one."""
    by_name = {x.name: x for x in net.layers}
    if not edge.producer:
        return "the network input is not an intermediate"
    prod, cons = by_name[edge.producer], by_name[edge.consumer]
    if edge.operand == "Weights":
        return f"{cons.name} reads all of {prod.name} as its second operand"
    if prod.transposed or cons.transposed:
        return "a transposed convolution scatters rows"
    rows, cols = out_hw(prod)
    if cons.kind == LayerKind.MATMUL:
        if cons.P != rows or cols != 1:
            return f"{cons.name}'s {cons.P} rows do not match {prod.name}'s {rows}x{cols} output"
    elif (cons.H, cons.W) != (rows, cols):
        return f"{cons.name} flattens or reshapes {prod.name}'s {rows}x{cols} output"
    return ""


@dataclass(frozen=True)
class Group:
    """Consecutive layers (topological order) run as one fused loop nest; the last one is the anchor."""

    layers: tuple[Layer, ...]
    inputs: tuple[Edge, ...]  # edges from outside the group
    internal: tuple[Edge, ...]  # edges inside the group (intermediates)
    outputs: tuple[str, ...]  # layers whose output leaves the group (read outside, or the network's output)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(x.name for x in self.layers)


def _activation_matmul(layer: Layer) -> bool:
    return layer.kind == LayerKind.MATMUL and not layer.weights_are_parameters


def is_attention(layers: tuple[Layer, ...]) -> bool:
    """True for QKᵀ -> element-wise layers (softmax, scale, mask) -> AV: two matmuls between activations with
    only non-MAC layers between them (what attention fusion keeps on chip: the score matrix)."""
    return (len(layers) >= 2 and _activation_matmul(layers[0]) and _activation_matmul(layers[-1])
            and all(x.kind == LayerKind.ELTWISE for x in layers[1:-1]))


def has_attention(layers: tuple[Layer, ...]) -> bool:
    """Whether some consecutive run of `layers` is an attention chain (`is_attention`)."""
    starts = [k for k, x in enumerate(layers) if _activation_matmul(x)]
    return any(is_attention(layers[a:b + 1]) for a in starts for b in starts if b > a)


def make_group(net: Network, start: int, stop: int, all_edges: list[Edge] | None = None) -> Group:
    """Layers start..stop-1 as a group, or StationaryError saying why they cannot be fused."""
    if not 0 <= start < stop <= len(net.layers):
        raise StationaryError(f"group {start}..{stop} is outside the network's {len(net.layers)} layers",
                              field="group")
    es = edges(net) if all_edges is None else all_edges
    members = {x.name for x in net.layers[start:stop]}
    inside = tuple(e for e in es if e.consumer in members and e.producer in members)
    for e in inside:
        why = fusible_edge(e, net)
        if why:
            raise StationaryError(f"{e.producer} -> {e.consumer} cannot be fused: {why}", field="group")
    ins = tuple(e for e in es if e.consumer in members and e.producer not in members)
    consumed_inside = {e.producer for e in inside}
    read_outside = {e.producer for e in es if e.producer in members and e.consumer not in members}
    layers = net.layers[start:stop]
    for x in layers[:-1]:
        if x.name not in consumed_inside:
            raise StationaryError(f"{x.name} feeds no later layer of the group {[y.name for y in layers]}",
                                  field="group")
    consumers = {e.producer for e in es}
    outs = tuple(x.name for x in layers if x.name in read_outside or x.name not in consumers or x is layers[-1])
    return Group(tuple(layers), ins, inside, outs)
