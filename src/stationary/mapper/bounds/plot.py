"""The ski slope (Orojenesis): the fewest words a layer must move to and from its backing store, against
the capacity of one on-chip buffer holding every tensor, log-log, with a found mapping's point on it."""

from __future__ import annotations

import math

import numpy as np

from stationary.arch.spec import Architecture
from stationary.errors import StationaryError
from stationary.mapper.bounds.tiles import TileTraffic, whole_words
from stationary.mapping.mapping import Mapping
from stationary.model.result import Result
from stationary.workload.loopnest import LoopNest


def ski_slope(nest: LoopNest) -> tuple[np.ndarray, np.ndarray]:
    """(buffer words, minimum backing-store words) where the minimum drops: reads of every input, partial sums
    read back and outputs written, over every tile class (perfect or imperfect) whose boxes fit the buffer."""
    tt = TileTraffic(nest)
    rw = [t.read_write for t in nest.tensors]
    outputs = next((t.extent(nest.bounds) for t in nest.tensors if t.read_write), 0)
    prints, words = [], []
    for ext in tt.tile_chunks():
        prints.append(sum(tt.footprint(t, ext) for t in range(len(rw))))
        low = None
        for row in tt.delivered(ext):
            w = sum((2 * row[t] if rw[t] else row[t] for t in range(len(rw))), np.zeros(ext.shape[0]))
            low = w if low is None else np.minimum(low, w)
        if low is None:  # order_prefixes always yields at least the empty prefix
            raise StationaryError(f"{nest.name}: no loop-order prefix to bound the traffic of")
        words.append(low - outputs)
    p, w = np.concatenate(prints), np.concatenate(words)
    order = np.lexsort((w, p))
    p, w = p[order], np.minimum.accumulate(w[order])
    drop = np.ones(len(p), bool)
    drop[1:] = w[1:] < w[:-1]
    return p[drop], whole_words(w[drop])


def mapping_point(nest: LoopNest, arch: Architecture, mapping: Mapping, result: Result) -> tuple[int, int]:
    """(on-chip working set, backing-store words) of a mapping: the boxes of every tensor over the loops below
    the outermost level's temporal loops (what one buffer would need for its schedule), and the words the
    outermost level read, was filled with and updated."""
    ext = {d: 1 for d in nest.dims}
    for i, lm in enumerate(mapping.levels):
        for d in nest.dims:
            ext[d] *= lm.spatial.get(d, 1) * (lm.temporal.get(d, 1) if i > 0 else 1)
    working = sum(t.extent(ext) for t in nest.tensors)
    top = result.levels[0]
    moved = sum(tc.reads + tc.fills + tc.updates for tc in top.tensors.values() if tc.kept)
    return working, moved


def plot_ski_slope(nest: LoopNest, arch: Architecture, path: str,
                   point: tuple[int, int] | None = None, title: str = "") -> None:
    """Write the ski-slope PNG: the bound curve, each level's capacity (all instances), the found mapping."""
    from stationary.report.figure import pyplot, save_png

    plt = pyplot()
    caps, words = ski_slope(nest)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    right = max(float(caps[-1]) * 4, 4.0 * point[0] if point else 0.0)
    x = np.append(caps, right).astype(float)
    y = np.append(words, words[-1]).astype(float)
    ax.step(x, y, where="post", color="tab:blue", label="minimum over single-buffer tilings")
    for lv in arch.levels[1:]:
        if lv.size_words is not None and not lv.virtual:
            cap = lv.size_words * lv.instances
            ax.axvline(cap, color="0.7", ls="--", lw=0.8)
            ax.text(cap, y.max(), f" {lv.name}", rotation=90, va="top", fontsize=7, color="0.4")
    if point is not None:
        ax.plot([max(point[0], 1)], [max(point[1], 1)], "o", color="tab:red",
                label=f"found mapping: {point[1]:,} words, working set {point[0]:,}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("on-chip buffer (words)")
    ax.set_ylabel("backing-store traffic (words)")
    ax.set_title(title or f"{nest.name} on {arch.name}: data-movement lower bound")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    ax.set_xlim(1, max(float(x.max()), math.e))
    fig.tight_layout()
    save_png(fig, path)
