"""DRAM traffic of the double-buffered SRAMs: SCALE-Sim 3.0's CALC-mode memory model, replayed in NumPy.

Read SRAMs (ifmap, filter; memory/read_buffer_estimate_bw.py): the demanded addresses, in demand order
(cycle, then array column), fill sets of floor(words/100) new addresses; once 50 sets (half the SRAM,
the active buffer) are full they are fetched from DRAM and the buffer starts empty again. So DRAM reads
= the distinct addresses of each 'epoch' of the stream, where an epoch ends at its (50 * set size)-th
new address. We build the stream with index arithmetic and find epoch ends from each element's previous
occurrence (one stable argsort), never stepping cycle by cycle.

Write SRAM (ofmap; memory/write_buffer.py): writes are packed into lines of `bandwidth` words; when more
than half the SRAM is occupied and no drain is running, the buffer drains ceil(half / bandwidth) lines,
one line per cycle. A drain counts every word of its lines but only the last line's empty slots are
discounted, so the partial line made at each drain trigger adds its empty slots (SCALE-Sim's count, e.g.
+31 on a 32-wide array). We replay it one drain event at a time on the cumulative write count, which is
closed form (OfmapWrites: each fold writes a skewed block), so no per-cycle array is built.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from stationary.systolic.config import SystolicConfig
from stationary.systolic.timing import FoldGeometry, fold_geometry
from stationary.systolic.topology import SystolicProblem

READ_PORT_LATENCY_CYCLES = 1  # SCALE-Sim read_port default
CALC_PREFETCH_WORDS_PER_CYCLE = 10  # SCALE-Sim's CALC-mode default backing bandwidth for ifmap/filter


@dataclass(frozen=True)
class ReadTraffic:
    """DRAM reads of one read SRAM and when they happen (SCALE-Sim's trace cycles)."""

    dram_reads: int
    dram_start_cycle: int
    dram_stop_cycle: int
    sram_start_cycle: int
    sram_stop_cycle: int


@dataclass(frozen=True)
class WriteTraffic:
    """DRAM writes of the ofmap SRAM, its drain window and the stall cycles it causes."""

    dram_writes: int
    dram_start_cycle: int
    dram_stop_cycle: int
    sram_start_cycle: int
    sram_stop_cycle: int
    stall_cycles: int


# ----- operand matrices ------------------------------------------------------------------------------
@dataclass(frozen=True)
class IfmapTables:
    """The ifmap operand matrix as row + column terms: address(px, k) = row[px] + col[k], valid iff
    y0[px] + dy[k] < H and x0[px] + dx[k] < W (only output pixels with `overhang` can fail that)."""

    row: np.ndarray
    col: np.ndarray
    y0: np.ndarray
    x0: np.ndarray
    dy: np.ndarray
    dx: np.ndarray
    overhang: np.ndarray  # bool per output pixel
    height: int
    width: int

    def invalid(self, px: np.ndarray, k: np.ndarray) -> np.ndarray:
        return (self.y0[px] + self.dy[k] >= self.height) | (self.x0[px] + self.dx[k] >= self.width)

    def matrix(self) -> np.ndarray:
        """The operand matrix [ofmap px x window], -1 where the window leaves the input."""
        addr = self.row[:, None] + self.col[None, :]
        bad = np.flatnonzero(self.overhang)
        if len(bad):
            addr[bad] = np.where(self.invalid(bad[:, None], np.arange(len(self.col))[None, :]), -1, addr[bad])
        return addr


def ifmap_tables(p: SystolicProblem, group: int = 0) -> IfmapTables:
    """Row and column terms of the ifmap operand addresses (channel-last layout; int32 when they fit)."""
    n, oy, ox = np.unravel_index(np.arange(p.ofmap_px), (p.batch, p.ofmap_h, p.ofmap_w))
    ky, kx, ch = np.unravel_index(np.arange(p.window), (p.filter_h, p.filter_w, p.channels))
    ctot = p.channels * p.groups
    dt = np.int32 if p.batch * p.ifmap_h * p.ifmap_w * ctot < 2**31 else np.int64
    y0, x0 = oy * p.stride_h, ox * p.stride_w  # the window's corner, per output pixel
    dy, dx = ky * p.dilation_h, kx * p.dilation_w  # offset of each window element
    row = (((n * p.ifmap_h + y0) * p.ifmap_w + x0) * ctot + group * p.channels).astype(dt)
    col = ((dy * p.ifmap_w + dx) * ctot + ch).astype(dt)
    overhang = (y0 + dy.max() >= p.ifmap_h) | (x0 + dx.max() >= p.ifmap_w)
    return IfmapTables(row, col, y0, x0, dy, dx, overhang, p.ifmap_h, p.ifmap_w)


def ifmap_matrix(p: SystolicProblem, group: int = 0) -> np.ndarray:
    """ifmap operand addresses [ofmap px x window], channel-last layout, -1 where the window leaves the input
    (int32 when the addresses fit)."""
    return ifmap_tables(p, group).matrix()


def filter_matrix(p: SystolicProblem, group: int = 0) -> np.ndarray:
    """filter operand addresses [window x filters] (filter j stored contiguously)."""
    k = np.arange(p.window)[:, None]
    m = np.arange(p.num_filters)[None, :]
    return (group * p.num_filters + m) * p.window + k


@lru_cache(maxsize=64)
def _skew_order(h: int, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Element (t, j) of an h x w block fed with a skew enters at cycle t + j; demand order is (cycle, j):
    diagonal d = t + j holds j = max(0, d - h + 1) .. min(d, w - 1), in that order."""
    d = np.arange(h + w - 1)
    lo = np.maximum(0, d - h + 1)
    cnt = np.minimum(d, w - 1) - lo + 1
    cyc = np.repeat(d, cnt)
    j = np.arange(h * w) - np.repeat(np.cumsum(cnt) - cnt - lo, cnt)
    return cyc - j, j, cyc


def _fold_blocks(g: FoldGeometry, operand: str):
    """Yield (fold index, fr, fc) in SCALE-Sim's order: column fold outer, row fold inner."""
    f = 0
    for fc in range(g.col_folds):
        for fr in range(g.row_folds):
            yield f, fr, fc
            f += 1


def read_stream(p: SystolicProblem, cfg: SystolicConfig, operand: str) -> tuple[np.ndarray, np.ndarray]:
    """(addresses, cycles) of every valid read of `operand` ('ifmap' or 'filter'), in demand order."""
    g = fold_geometry(p, cfg)
    R, C, T, L = g.array_rows, g.array_cols, g.temporal, g.cycles_per_fold
    rows_used, cols_used = g.rows_used(), g.cols_used()
    addrs: list[np.ndarray] = []
    cycles: list[np.ndarray] = []
    for grp in range(p.groups):
        mat = ifmap_matrix(p, grp) if operand == "ifmap" else filter_matrix(p, grp)
        base0 = grp * g.folds * L
        for f, fr, fc in _fold_blocks(g, operand):
            base = base0 + f * L
            ru, cu = rows_used[fr], cols_used[fc]
            r0, c0 = fr * R, fc * C
            key = (cfg.dataflow, operand)
            if key in (("os", "ifmap"), ("os", "filter"), ("ws", "ifmap"), ("is", "filter")):
                w = cu if key == ("os", "filter") else ru
                t, j, cyc = _skew_order(T, w)
                if key == ("os", "ifmap"):
                    a = mat[r0 + j, t]
                elif key == ("os", "filter"):
                    a = mat[t, c0 + j]
                elif key == ("ws", "ifmap"):
                    a, cyc = mat[t, r0 + j], cyc + R
                else:  # is filter: filter rows fr-range, all T filters, transposed
                    a, cyc = mat[r0 + j, t], cyc + R
            else:  # un-skewed, flipped R x C block: block row i is read at cycle R - 1 - i
                i, j = np.divmod(np.arange(ru * cu), cu)
                order = np.lexsort((j, -i))
                i, j = i[order], j[order]
                a = mat[r0 + i, c0 + j] if operand == "filter" else mat[c0 + j, r0 + i]
                cyc = R - 1 - i
            valid = a >= 0
            addrs.append(a[valid])
            cycles.append(cyc[valid] + base)
    if not addrs:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(addrs).astype(np.int64), np.concatenate(cycles).astype(np.int64)


def _previous_occurrence(a: np.ndarray) -> np.ndarray:
    """Index of the previous element with the same value, -1 if none."""
    order = np.argsort(a, kind="stable")
    s = a[order]
    prev = np.full(a.shape, -1, dtype=np.int64)
    same = s[1:] == s[:-1]
    prev[order[1:][same]] = order[:-1][same]
    return prev


def read_traffic(addrs: np.ndarray, cycles: np.ndarray, sram_kb: int,
                 prefetch_words_per_cycle: int = CALC_PREFETCH_WORDS_PER_CYCLE) -> ReadTraffic:
    """DRAM reads of a read SRAM fed this stream: distinct addresses per epoch of half the SRAM."""
    n = len(addrs)
    words = sram_kb * 1024
    set_words = words // 100
    capacity = 50 * set_words if set_words else n + 1
    if n == 0:
        return ReadTraffic(0, 0, 0, 0, 0)
    prev = _previous_occurrence(addrs)
    s, total, rollovers = 0, 0, []
    last_count = 0
    while s < n:
        span = min(n - s, 4 * capacity)
        while True:
            new = np.flatnonzero(prev[s:s + span] < s)
            if len(new) >= capacity or s + span >= n:
                break
            span = min(n - s, 2 * span)
        if len(new) >= capacity:
            end = s + int(new[capacity - 1])
            total += capacity
            rollovers.append(int(cycles[end]))
            s = end + 1
        else:
            last_count = len(new)
            total += last_count
            break
    lat = READ_PORT_LATENCY_CYCLES
    first_req = int(cycles[0])
    if rollovers:
        end0 = first_req - 1 - lat
        start = end0 - math.ceil(capacity / prefetch_words_per_cycle) + 1
        stop = rollovers[-1]
    else:
        end0 = -1 - lat
        sets = math.ceil(last_count / set_words) if set_words else 1
        start = end0 - math.ceil(sets * set_words / prefetch_words_per_cycle) + 1
        stop = end0
    return ReadTraffic(total, start + lat, stop + lat, first_req + 1, int(cycles[-1]) + 1)


def ofmap_writes_per_cycle(p: SystolicProblem, cfg: SystolicConfig) -> np.ndarray:
    """Number of ofmap words written to SRAM in each cycle of the layer (no stalls)."""
    g = fold_geometry(p, cfg)
    R, T, L = g.array_rows, g.temporal, g.cycles_per_fold
    rows_used, cols_used = g.rows_used(), g.cols_used()
    shapes: dict[tuple[int, int], list[int]] = {}
    for f, fr, fc in _fold_blocks(g, "ofmap"):
        shapes.setdefault((rows_used[fr], cols_used[fc]), []).append(f)
    out = np.zeros((p.groups, g.folds, L), dtype=np.int64)
    for (ru, cu), folds in shapes.items():
        if cfg.dataflow == "os":  # outputs leave the flipped R x C block, skewed, after T - 1 cycles
            i, j = np.divmod(np.arange(ru * cu), cu)
            cyc = T - 1 + (R - 1 - i) + j
        else:  # ws / is: T x cols block, skewed, after 2R - 1 cycles
            t, j = np.divmod(np.arange(T * cu), cu)
            cyc = 2 * R - 1 + t + j
        out[:, folds] = np.bincount(cyc, minlength=L)[:L]
    return out.reshape(-1)


def _pairs_upto(z: int, a_count: int, b_count: int) -> int:
    """Pairs (a, b), 0 <= a < a_count, 0 <= b < b_count, with a + b < z (a skewed block's writes so far)."""
    def h(y: int) -> int:  # sum over a >= 0 of clamp(y - a, 0, b_count)
        if y <= 0:
            return 0
        if y <= b_count:
            return y * (y + 1) // 2
        return b_count * (b_count + 1) // 2 + (y - b_count) * b_count
    return h(z) - h(z - a_count)


@dataclass(frozen=True)
class OfmapWrites:
    """Cumulative ofmap SRAM writes of a layer, cycle by cycle, in closed form (no per-cycle array).

    Fold f of a group writes a skewed block: OS the ru x cu outputs at cycle T - 1 + (R - 1 - i) + j, WS/IS
    the T x cu partial sums at cycle 2R - 1 + t + j (traffic.ofmap_writes_per_cycle builds the same counts
    as an array; tests check one against the other)."""

    dataflow: str
    g: FoldGeometry
    groups: int

    @property
    def rows(self) -> int:
        """Cycles of the layer before stalls (rows of SCALE-Sim's demand matrix)."""
        return self.groups * self.g.folds * self.g.cycles_per_fold

    @property
    def per_group(self) -> int:
        g = self.g
        if self.dataflow == "os":
            return g.spatial_rows * g.spatial_cols
        return g.row_folds * g.temporal * g.spatial_cols

    @property
    def total(self) -> int:
        return self.groups * self.per_group

    def at(self, cycle: int) -> int:
        """Words written in cycles 0 .. `cycle` (0 before the first cycle, the total after the last)."""
        if cycle < 0:
            return 0
        if cycle >= self.rows:
            return self.total
        g = self.g
        R, C, L = g.array_rows, g.array_cols, g.cycles_per_fold
        grp, rem = divmod(cycle, g.folds * L)
        f, x = divmod(rem, L)
        fc, fr = divmod(f, g.row_folds)
        cu = min(C, g.spatial_cols - fc * C)
        if self.dataflow == "os":
            ru = min(R, g.spatial_rows - fr * R)
            before = g.spatial_rows * fc * C + cu * fr * R
            # block row i' = R - 1 - i in [R - ru, R - 1] writes at T - 1 + i' + j
            within = _pairs_upto(x - (g.temporal - 1) - (R - ru) + 1, ru, cu)
        else:
            before = g.row_folds * g.temporal * fc * C + fr * g.temporal * cu
            within = _pairs_upto(x - (2 * R - 1) + 1, g.temporal, cu)
        return grp * self.per_group + before + within

    def first_reaching(self, words: int) -> int:
        """The first cycle by which `words` words have been written (words in 1 .. total)."""
        lo, hi = 0, self.rows - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if self.at(mid) >= words:
                hi = mid
            else:
                lo = mid + 1
        return lo


@dataclass(frozen=True)
class ArrayWrites:
    """The same interface over an explicit per-cycle count (the replay mode's reference)."""

    cum: np.ndarray

    @property
    def rows(self) -> int:
        return len(self.cum)

    @property
    def total(self) -> int:
        return int(self.cum[-1]) if len(self.cum) else 0

    def at(self, cycle: int) -> int:
        if cycle < 0:
            return 0
        return int(self.cum[min(cycle, len(self.cum) - 1)])

    def first_reaching(self, words: int) -> int:
        return int(np.searchsorted(self.cum, words, side="left"))


def ofmap_writes(p: SystolicProblem, cfg: SystolicConfig) -> OfmapWrites:
    """The layer's cumulative ofmap writes in closed form."""
    return OfmapWrites(cfg.dataflow, fold_geometry(p, cfg), p.groups)


def drain_events(n_elems: int, sram_kb: int) -> int:
    """About how many drains the ofmap write buffer makes (each half the SRAM): write_traffic's loop count."""
    half = sram_kb * 1024 - math.ceil(sram_kb * 1024 * 0.5)
    return n_elems // max(half, 1) + 1


def write_traffic(writes: OfmapWrites | ArrayWrites, sram_kb: int, line_words: int) -> WriteTraffic:
    """Replay SCALE-Sim's ofmap write buffer one drain event at a time (see module docstring)."""
    total = sram_kb * 1024
    active = math.ceil(total * 0.5)
    drain_words = total - active
    drain_lines = math.ceil(drain_words / line_words)
    nrows = writes.rows
    n_elems = writes.total
    if n_elems == 0:
        return WriteTraffic(0, 0, 0, 0, 0, 0)

    lines: list[list[int]] = []  # runs of [number of lines, words per line] not yet drained
    state = {"fill": 0, "occ": 0, "access": 0}
    drains: list[tuple[int, int]] = []

    def add(x: int) -> None:
        tot = state["fill"] + x
        full, state["fill"] = divmod(tot, line_words)
        if full:
            if lines and lines[-1][1] == line_words:
                lines[-1][0] += full
            else:
                lines.append([full, line_words])
        state["occ"] += x

    def force() -> None:
        if state["fill"]:
            lines.append([1, state["fill"]])
            state["fill"] = 0

    def drain(start: int) -> int:
        taken, last = 0, line_words
        while lines and taken < drain_lines:
            k = min(lines[0][0], drain_lines - taken)
            taken += k
            last = lines[0][1]
            lines[0][0] -= k
            if lines[0][0] == 0:
                lines.pop(0)
        if taken == 0:
            return start - 1
        data = taken * line_words - (line_words - last)
        state["access"] += data
        state["occ"] -= data
        drains.append((start, taken))
        return start + taken - 1

    row_of = writes.first_reaching
    e, stall, drain_end = 0, 0, 0
    while True:
        occ = state["occ"]
        r_d = drain_end - stall
        first_ok = n_elems + 1 if r_d >= nrows else writes.at(r_d - 1) + 1
        idx_full = e + max(total - occ, 1)
        if idx_full < first_ok and idx_full <= n_elems:  # buffer full while draining: the array stalls
            r = row_of(idx_full)
            add(idx_full - e)
            e = idx_full
            stall += drain_end - (r + stall)
            continue
        idx = max(e + max(drain_words + 1 - occ, 1), first_ok)
        if idx > n_elems:
            break
        r = row_of(idx)
        add(idx - e)
        e = idx
        force()
        drain_end = drain(r + stall)
    add(n_elems - e)
    force()
    cycle = nrows - 1 + stall
    while lines:
        cycle = drain(cycle) + 1
    start = min(d[0] for d in drains)
    stop = max(d[0] + d[1] - 1 for d in drains)
    return WriteTraffic(state["access"], start, stop, row_of(1), row_of(n_elems) + stall, stall)
