"""The fused loop nest's counts: tiles of the anchor's output, each layer's needed box, what crosses DRAM.

Tiles are `tile_rows` x `tile_cols` of the group's last layer, walked row strip by row strip. For every tile the
box of each tensor it needs is found backwards through the windows. A tensor whose halo is *retained* keeps what
earlier tiles made (a line buffer of rows, a left halo of columns), so each element is made (or, for a group
input, fetched) once; a *recomputed* one makes (fetches) its whole box every tile. Along one axis the needed
ranges only move forward, so a retained tensor's new elements in tile (i, j) are exactly
(rows past strip i-1's) x (columns past tile j-1's), a product of two ranges.

A matmul's second activation operand read from outside the group (attention's K of QKᵀ and V of AV) is needed
whole by every tile of query rows: like weights, it is fetched once when it fits next to the peak tiles, else
once per tile that uses it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from stationary.errors import StationaryError
from stationary.fusion.graph import Group, col_window, out_channels, row_window
from stationary.workload.layer import Layer, LayerKind

SECOND_OPERAND = "Weights"  # the Edge operand of a matmul's second activation operand

RETAIN, RECOMPUTE = "retain", "recompute"
Range = tuple[int, int]  # inclusive [lo, hi]; lo > hi is empty


def span(r: Range) -> int:
    return max(0, r[1] - r[0] + 1)


def window_in(r: Range, window: tuple[int, int, int, int], size: int) -> Range:
    """Input positions (clipped to 0..size-1) that output positions r read through `window`."""
    if span(r) == 0:
        return (0, -1)
    k, stride, dil, pad = window
    return max(0, r[0] * stride - pad), min(size - 1, r[1] * stride - pad + (k - 1) * dil)


def hull(a: Range, b: Range) -> Range:
    if span(a) == 0:
        return b
    if span(b) == 0:
        return a
    return min(a[0], b[0]), max(a[1], b[1])


def _new(r: Range, done: int) -> Range:
    return max(r[0], done + 1), r[1]


@dataclass(frozen=True)
class FusedCounts:
    """Words across DRAM by kind, MACs made, the peak words held at the fusion level, per-layer tile shapes."""

    input_words: int  # group inputs fetched (halo re-fetches included)
    output_words: int  # group outputs written
    weight_words: int  # weights fetched (once if resident, else once per tile that uses them)
    macs: int  # MACs made (recomputation included)
    recompute_macs: int
    buffer_words: int  # peak held at the fusion level (live boxes, line buffers, resident weights)
    weights_resident: bool  # weights and second operands held once at the fusion level
    tiles: int
    # per MAC layer: (rows, cols) made in each tile with any work -> number of such tiles
    tile_shapes: dict[str, dict[tuple[int, int], int]]
    operand_words: int = 0  # second matmul operands from outside (attention's K, V): once if resident, else per tile
    other_ops: int = 0  # non-MAC operations of pooling and element-wise layers (softmax), recomputation included
    heads_per_tile: int | None = None  # attention groups tiled over heads too (`split_heads`); None: all heads

    @property
    def dram_words(self) -> int:
        return self.input_words + self.output_words + self.weight_words + self.operand_words


def second_operand_words(layer: Layer) -> int:
    """Words of a matmul's second activation operand (K of QKᵀ, V of AV); 0 for every other layer."""
    if layer.kind == LayerKind.MATMUL and not layer.weights_are_parameters:
        return layer.N * layer.G * layer.M * layer.C
    return 0


def _row_words(layer: Layer) -> int:
    """Words of one output position (all channels, batch)."""
    return layer.N * out_channels(layer)


def _words_per_position(group: Group, name: str) -> tuple[int, int, int]:
    """(words per row-column position, rows, columns) of a tensor the group reads or makes."""
    by_name = {x.name: x for x in group.layers}
    if name in by_name:
        x = by_name[name]
        return _row_words(x), x.P, x.Q
    cons = next(by_name[e.consumer] for e in group.inputs if e.producer == name and e.operand != SECOND_OPERAND)
    return cons.N * cons.G * cons.C, cons.H, cons.W


def _ranges(group: Group, anchor_range: Range, done: dict[str, int], policy: dict[str, str], axis: int
            ) -> tuple[dict[str, Range], dict[str, Range]]:
    """(needed, made) range along one axis of every tensor for one tile; advances `done` for retained ones."""
    by_name = {x.name: x for x in group.layers}
    need: dict[str, Range] = {}
    make: dict[str, Range] = {}
    window = row_window if axis == 0 else col_window
    for x in reversed(group.layers):
        if x is group.layers[-1]:
            need[x.name] = anchor_range
        # make x from what its consumers (all later in topological order, already visited) need
        r = need.get(x.name, (0, -1))
        for e in group.internal:
            if e.producer == x.name:
                c = by_name[e.consumer]
                r = hull(r, window_in(make[c.name], window(c), c.H if axis == 0 else c.W))
        need[x.name] = r
        make[x.name] = _new(r, done[x.name]) if policy.get(x.name, RETAIN) == RETAIN else r
    for e in group.inputs:
        if e.operand == SECOND_OPERAND:  # needed whole by every tile: counted like weights
            continue
        c = by_name[e.consumer]
        r = hull(need.get(e.producer, (0, -1)), window_in(make[c.name], window(c), c.H if axis == 0 else c.W))
        need[e.producer] = r
    for p in {e.producer for e in group.inputs if e.operand != SECOND_OPERAND}:
        make[p] = _new(need[p], done[p]) if policy.get(p, RETAIN) == RETAIN else need[p]
    for n, r in need.items():
        if span(r) and policy.get(n, RETAIN) == RETAIN:
            done[n] = max(done[n], r[1])
    return need, make


def _live_sets(group: Group, ext: list[str]) -> list[set[str]]:
    """Tensors whose tile boxes are held while each layer runs: its output, and every tensor made earlier (or a
    group input) that it or a later layer still reads."""
    order = {x.name: k for k, x in enumerate(group.layers)}
    last_use: dict[str, int] = {}
    for e in group.internal + group.inputs:
        if e.operand == SECOND_OPERAND:
            continue
        last_use[e.producer] = max(last_use.get(e.producer, -1), order[e.consumer])
    out = []
    for k, x in enumerate(group.layers):
        made_before = [*ext, *(y.name for y in group.layers[:k])]
        out.append({x.name, *(n for n in made_before if last_use.get(n, -1) >= k)})
    return out


def _overlap(a: Range, b: Range) -> int:
    return span((max(a[0], b[0]), min(a[1], b[1])))


def group_heads(group: Group) -> int | None:
    """Heads of a group that splits by head (every layer an activation matmul with the same G, or element-wise
    over channels that are whole heads: attention's QKᵀ -> softmax -> AV), else None."""
    mm = [x for x in group.layers if x.kind == LayerKind.MATMUL and not x.weights_are_parameters]
    if not mm or any(x.G != mm[0].G for x in mm) or any(
            x not in mm and (x.kind != LayerKind.ELTWISE or x.G % mm[0].G) for x in group.layers):
        return None
    return mm[0].G


def split_heads(group: Group, heads: int) -> Group:
    """The group restricted to `heads` of its heads: every layer's head axis (a matmul's G, an element-wise
    layer's channels) scaled; the group inputs follow, their sizes coming from their consumers."""
    total = group_heads(group)
    if total is None or not isinstance(heads, int) or not 1 <= heads <= total or total % heads:
        raise StationaryError(f"heads per tile must divide the group's {total or 'no'} heads, got {heads!r}",
                              field="heads_per_tile")
    return replace(group, layers=tuple(replace(x, G=x.G // total * heads) for x in group.layers))


def count(group: Group, tile_rows: int, tile_cols: int, policy: dict[str, str], capacity_words: float,
          heads_per_tile: int | None = None) -> FusedCounts:
    """Walk the fused nest's tiles; `policy` maps each intermediate and group input ("" = network input) to
    retain or recompute (missing: retain). Weights and second matmul operands (K, V) stay resident when they
    fit next to the peak tiles, else are fetched again by every tile that uses them. `heads_per_tile`: an
    attention group walks head tiles (outer) x query tiles; a head tile's K and V are resident while its query
    tiles run when they fit, so each is then fetched once."""
    if heads_per_tile is not None:
        total = group_heads(group) or 0
        one = count(split_heads(group, heads_per_tile), tile_rows, tile_cols, policy, capacity_words)
        splits = total // heads_per_tile
        return replace(one, input_words=one.input_words * splits, output_words=one.output_words * splits,
                       weight_words=one.weight_words * splits, macs=one.macs * splits,
                       recompute_macs=one.recompute_macs * splits, tiles=one.tiles * splits,
                       operand_words=one.operand_words * splits, other_ops=one.other_ops * splits,
                       tile_shapes={name: {shape: m * splits for shape, m in v.items()}
                                    for name, v in one.tile_shapes.items()},
                       heads_per_tile=heads_per_tile)
    anchor = group.layers[-1]
    if tile_rows < 1 or tile_cols < 1:
        raise StationaryError(f"tile must be at least 1x1, got {tile_rows}x{tile_cols}", field="tile")
    for name, p in policy.items():
        if p not in (RETAIN, RECOMPUTE):
            raise StationaryError(f"halo policy of {name!r} must be retain or recompute, got {p!r}", field="policy")
    for e in group.inputs:
        if e.channel_offset or any(
                x.consumer == e.consumer and x.operand == e.operand and x.producer != e.producer
                for x in group.inputs + group.internal):
            raise StationaryError(f"{e.producer or 'the network input'} -> {e.consumer}: a group input that is "
                                  "part of a concatenation is not fused", field="group")
    ext = sorted({e.producer for e in group.inputs if e.operand != SECOND_OPERAND})
    by_name = {x.name: x for x in group.layers}
    second = {e.consumer: second_operand_words(by_name[e.consumer]) for e in group.inputs
              if e.operand == SECOND_OPERAND}
    names = [x.name for x in group.layers] + ext
    geo = {n: _words_per_position(group, n) for n in names}
    n_strips, n_cols = math.ceil(anchor.P / tile_rows), math.ceil(anchor.Q / tile_cols)
    done = {n: -1 for n in names}
    strips = [_ranges(group, (i * tile_rows, min(anchor.P, (i + 1) * tile_rows) - 1), done, policy, 0)
              for i in range(n_strips)]
    done = {n: -1 for n in names}
    cols = [_ranges(group, (j * tile_cols, min(anchor.Q, (j + 1) * tile_cols) - 1), done, policy, 1)
            for j in range(n_cols)]
    for n in group.outputs:  # a group output must be made whole
        rows_made = sum(span(s[1][n]) for s in strips) if policy.get(n, RETAIN) == RETAIN else None
        if n != anchor.name and rows_made is not None and rows_made < geo[n][1]:
            raise StationaryError(f"{n} leaves the group but its tiles do not make all its rows", field="group")
    input_words = macs = other_ops = peak = 0
    live = _live_sets(group, ext)
    shapes: dict[str, dict[tuple[int, int], int]] = {x.name: {} for x in group.layers if x.kind.does_macs}
    weights_total = sum(x.weights + x.biases for x in group.layers)
    operands_total = sum(second.values())
    weight_per_tile = operand_per_tile = 0
    for i, (rneed, rmake) in enumerate(strips):
        line = sum(_overlap(rneed[n], strips[i + 1][0][n]) * geo[n][2] * geo[n][0] for n in names
                   if i + 1 < n_strips and policy.get(n, RETAIN) == RETAIN)
        for cneed, cmake in cols:
            box = {n: span(rneed[n]) * span(cneed[n]) * geo[n][0] for n in names}
            peak = max(peak, max(sum(box[n] for n in live_set) for live_set in live) + line)
            for x in group.layers:
                made = span(rmake[x.name]) * span(cmake[x.name])
                if made and not x.kind.does_macs:
                    other_ops += made * (x.other_ops // (x.P * x.Q))
                if made and x.kind.does_macs:
                    macs += made * (x.macs // (x.P * x.Q))
                    key = (span(rmake[x.name]), span(cmake[x.name]))
                    shapes[x.name][key] = shapes[x.name].get(key, 0) + 1
                    weight_per_tile += x.weights + x.biases
                    operand_per_tile += second.get(x.name, 0)
            input_words += sum(span(rmake[p]) * span(cmake[p]) * geo[p][0] for p in ext)
    resident = peak + weights_total + operands_total <= capacity_words
    weight_words = weights_total if resident else weight_per_tile
    operand_words = operands_total if resident else operand_per_tile
    # streamed weights and operands pass through the level with the inner mapping
    peak += weights_total + operands_total if resident else 0
    output_words = sum(by_name[n].output_activations for n in group.outputs)
    return FusedCounts(input_words, output_words, weight_words, macs, macs - sum(x.macs for x in group.layers),
                       peak, resident, n_strips * n_cols, shapes, operand_words, other_ops)
