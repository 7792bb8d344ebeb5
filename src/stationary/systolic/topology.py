"""A layer as SCALE-Sim sees it (an ifmap x filter operand-matrix multiply), read from its topology CSVs
or converted from a stationary Layer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stationary.errors import StationaryError
from stationary.schema import MAX_INT, MAX_NAME, int_text
from stationary.workload.layer import Layer, LayerKind
from stationary.yamlio import read_text

MAX_TOPOLOGY_BYTES = 4 << 20  # a topology CSV larger than this is refused unread
MAX_TOPOLOGY_LAYERS = 10_000  # real networks have a few hundred layers
MAX_LINE_CHARS = 4096


@dataclass(frozen=True)
class SystolicProblem:
    """One convolution as an operand-matrix multiply: ifmap [N*P*Q x R*S*C] times filter [R*S*C x M], G times.

    `ifmap_h` x `ifmap_w` is the input as stored (padding included); P x Q the output computed.
    """

    name: str
    ifmap_h: int
    ifmap_w: int
    filter_h: int
    filter_w: int
    channels: int
    num_filters: int
    stride_h: int = 1
    stride_w: int = 1
    ofmap_h: int = 0  # 0: SCALE-Sim's rule ceil((H - R + s) / s)
    ofmap_w: int = 0
    batch: int = 1
    groups: int = 1
    dilation_h: int = 1
    dilation_w: int = 1
    source: str = ""

    def __post_init__(self) -> None:
        src = self.source or None
        for f in ("ifmap_h", "ifmap_w", "filter_h", "filter_w", "channels", "num_filters", "stride_h",
                  "stride_w", "batch", "groups", "dilation_h", "dilation_w"):
            v = getattr(self, f)
            if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= MAX_INT:
                raise StationaryError(f"layer {self.name}: {f} must be an integer in 1..{MAX_INT:,}, got {v!r}",
                                      file=src, field=f)
        span_h = self.dilation_h * (self.filter_h - 1) + 1
        span_w = self.dilation_w * (self.filter_w - 1) + 1
        if span_h > self.ifmap_h:
            raise StationaryError(f"layer {self.name}: filter height {self.filter_h} is larger than the "
                                  f"input height {self.ifmap_h}", file=src, field="filter_h")
        if span_w > self.ifmap_w:
            raise StationaryError(f"layer {self.name}: filter width {self.filter_w} is larger than the "
                                  f"input width {self.ifmap_w}", file=src, field="filter_w")
        if self.ofmap_h == 0:
            object.__setattr__(self, "ofmap_h", -(-(self.ifmap_h - span_h + self.stride_h) // self.stride_h))
        if self.ofmap_w == 0:
            object.__setattr__(self, "ofmap_w", -(-(self.ifmap_w - span_w + self.stride_w) // self.stride_w))
        if self.ofmap_h < 1 or self.ofmap_w < 1:
            raise StationaryError(f"layer {self.name}: output must be at least 1x1", file=src, field="ofmap")

    @property
    def window(self) -> int:
        """K: multiply-accumulates per output (filter_h * filter_w * channels)."""
        return self.filter_h * self.filter_w * self.channels

    @property
    def ofmap_px(self) -> int:
        """Output pixels per filter, batch included (rows of the ifmap operand matrix)."""
        return self.batch * self.ofmap_h * self.ofmap_w

    @property
    def macs(self) -> int:
        return self.groups * self.ofmap_px * self.num_filters * self.window


def _int_field(raw: str, name: str, layer: str, src: str, column: str) -> int:
    try:
        return int_text(raw, src, column, lo=1, hi=MAX_INT)
    except StationaryError as exc:
        raise StationaryError(f"layer {layer[:60]!r}: {column} {exc.message}", file=src, field=column) from None


CONV_COLUMNS = ("IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width", "Channels", "Num Filter",
                "Strides")
GEMM_COLUMNS = ("M", "N", "K")


def read_topology(path: str | Path, gemm: bool | None = None) -> tuple[SystolicProblem, ...]:
    """SCALE-Sim topology CSV, convolution form (name,H,W,R,S,C,M,stride) or GEMM form (name,M,N,K).

    The form is taken from the header (`M, N, K`) unless `gemm` says. A name containing 'DP' is a
    depthwise layer (SCALE-Sim's rule): one filter per channel, modelled as `channels` groups.
    """
    path = Path(path)
    src = str(path)
    if not path.is_file():
        raise StationaryError("topology file not found", file=src)
    numbered = [(i, ln.strip()) for i, ln in enumerate(read_text(path, MAX_TOPOLOGY_BYTES).splitlines(), 1)]
    numbered = [(i, ln) for i, ln in numbered if ln]
    if not numbered:
        raise StationaryError("empty topology file", file=src)
    if len(numbered) - 1 > MAX_TOPOLOGY_LAYERS:
        raise StationaryError(f"{len(numbered) - 1:,} layers exceeds the limit of {MAX_TOPOLOGY_LAYERS:,}", file=src)
    for lineno, ln in numbered:
        if len(ln) > MAX_LINE_CHARS:
            raise StationaryError(f"line {lineno}: {len(ln):,} characters exceeds the limit of {MAX_LINE_CHARS:,}",
                                  file=src)
    header = [h.strip() for h in numbered[0][1].split(",") if h.strip()]
    if gemm is None:
        gemm = [h.upper() for h in header[1:4]] == list(GEMM_COLUMNS)
    problems = []
    for lineno, row in numbered[1:]:
        cells = [c for c in row.split(",")]
        if cells and cells[-1].strip() == "":
            cells = cells[:-1]
        name = cells[0].strip() if cells else ""
        columns = GEMM_COLUMNS if gemm else CONV_COLUMNS
        if len(cells) < 1 + len(columns):
            raise StationaryError(f"line {lineno}: expected {1 + len(columns)} columns "
                                  f"(Layer name, {', '.join(columns)}), got {len(cells)}", file=src,
                                  field=columns[len(cells) - 1] if 0 < len(cells) <= len(columns) else "row")
        if not name:
            raise StationaryError(f"line {lineno}: empty layer name", file=src, field="Layer name")
        if len(name) > MAX_NAME:
            raise StationaryError(f"line {lineno}: a layer name of {len(name)} characters (at most {MAX_NAME})",
                                  file=src, field="Layer name")
        v = [_int_field(cells[i + 1], columns[i], name, src, columns[i]) for i in range(len(columns))]
        if gemm:
            m, n, k = v
            problems.append(SystolicProblem(name, ifmap_h=m, ifmap_w=k, filter_h=1, filter_w=k, channels=1,
                                            num_filters=n, source=src))
            continue
        h, w, r, s, c, m, stride = v
        stride_w = stride  # SCALE-Sim reuses the one stride for both directions
        if "DP" in name:
            problems.append(SystolicProblem(name, h, w, r, s, 1, 1, stride, stride_w, groups=c, source=src))
        else:
            problems.append(SystolicProblem(name, h, w, r, s, c, m, stride, stride_w, source=src))
    if not problems:
        raise StationaryError("no layers in topology file", file=src)
    return tuple(problems)


def problem_from_layer(layer: Layer) -> SystolicProblem | None:
    """A stationary Layer as a systolic problem (padding stored in the input, true P x Q); None if no MACs."""
    if not layer.kind.does_macs:
        return None
    if layer.kind == LayerKind.CONV:
        ph, pw = layer.padding
        return SystolicProblem(
            layer.name, ifmap_h=layer.H + 2 * ph, ifmap_w=layer.W + 2 * pw, filter_h=layer.R, filter_w=layer.S,
            channels=layer.C, num_filters=layer.M, stride_h=layer.stride[0], stride_w=layer.stride[1],
            ofmap_h=layer.P, ofmap_w=layer.Q, batch=layer.N, groups=layer.G, dilation_h=layer.dilation[0],
            dilation_w=layer.dilation[1],
        )
    # FC / matmul: a GEMM of (N * P * Q rows) x C times C x M, per group (attention head)
    rows = layer.P * layer.Q
    return SystolicProblem(layer.name, ifmap_h=rows, ifmap_w=layer.C * layer.R * layer.S, filter_h=1,
                           filter_w=layer.C * layer.R * layer.S, channels=1, num_filters=layer.M,
                           ofmap_h=rows, ofmap_w=1, batch=layer.N, groups=layer.G)
