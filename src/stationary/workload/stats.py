"""Per-layer and network statistics: MACs, weights, activations, the survey's CONV/FC split."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from stationary.workload.layer import Layer, LayerKind
from stationary.workload.network import Network


@dataclass(frozen=True)
class LayerStats:
    """Counts for one layer; every field is a plain count of elements or operations."""

    name: str
    kind: str
    macs: int
    other_ops: int
    weights: int
    biases: int
    input_activations: int
    output_activations: int
    dims: dict[str, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]

    @classmethod
    def of(cls, layer: Layer) -> LayerStats:
        kind = "depthwise" if layer.is_depthwise else layer.kind.value
        return cls(layer.name, kind, layer.macs, layer.other_ops, layer.weights, layer.biases,
                   layer.input_activations, layer.output_activations, layer.bounds,
                   layer.stride, layer.padding, layer.dilation)

    def to_json(self) -> dict:
        d = asdict(self)
        d["stride"], d["padding"], d["dilation"] = list(self.stride), list(self.padding), list(self.dilation)
        return d


@dataclass(frozen=True)
class NetworkStats:
    """Totals over a network. CONV counts include depthwise/grouped convolutions; FC counts linear layers.

    `activations` is the sum of every layer's output activations plus the network input (each feature map
    counted once, as it would be stored).
    """

    model: str
    batch: int
    layers: tuple[LayerStats, ...]
    macs: int
    other_ops: int
    weights: int
    parameters: int
    activations: int
    conv_macs: int
    conv_weights: int
    conv_layers: int
    fc_macs: int
    fc_weights: int
    fc_layers: int

    def to_json(self) -> dict:
        return {
            "model": self.model,
            "batch": self.batch,
            "layers": [s.to_json() for s in self.layers],
            "total": {
                "macs": self.macs,
                "other_ops": self.other_ops,
                "weights": self.weights,
                "parameters": self.parameters,
                "activations": self.activations,
                "conv_macs": self.conv_macs,
                "conv_weights": self.conv_weights,
                "conv_layers": self.conv_layers,
                "fc_macs": self.fc_macs,
                "fc_weights": self.fc_weights,
                "fc_layers": self.fc_layers,
                "layers": len(self.layers),
            },
        }


def network_stats(net: Network) -> NetworkStats:
    """Statistics of every layer and the network totals."""
    per = tuple(LayerStats.of(layer) for layer in net.layers)
    convs = [layer for layer in net.layers if layer.kind == LayerKind.CONV]
    fcs = [layer for layer in net.layers if layer.kind == LayerKind.FC]
    first_input = net.layers[0].input_activations if net.layers else 0
    return NetworkStats(
        model=net.name,
        batch=net.batch,
        layers=per,
        macs=sum(s.macs for s in per),
        other_ops=sum(s.other_ops for s in per),
        weights=sum(s.weights for s in per),
        parameters=sum(s.weights + s.biases for s in per),
        activations=first_input + sum(s.output_activations for s in per),
        conv_macs=sum(layer.macs for layer in convs),
        conv_weights=sum(layer.weights for layer in convs),
        conv_layers=len(convs),
        fc_macs=sum(layer.macs for layer in fcs),
        fc_weights=sum(layer.weights for layer in fcs),
        fc_layers=len(fcs),
    )
