"""SCALE-Sim's CALC-mode read-buffer DRAM count without building the whole address stream (fast, exact).

The read SRAM fetches, per 'epoch', the distinct addresses it is asked for; an epoch ends at its
(50 * floor(words/100))-th new address and the next starts empty (traffic.py replays this on the full
stream). Position i of the stream is new in the epoch starting at s iff its previous occurrence is
before s. Here the stream is never built: it is a sequence of *segments*, each one block U of
demands repeated `reps` times (WS/OS ifmap: the column folds re-stream the same row folds; OS filter:
the row folds re-stream one column block; IS filter: the column folds), segments touching disjoint
addresses (other column blocks, other groups). Per segment we sort U once and know, for every element
of the periodic stream U U U ..., where its previous occurrence is (in the same copy, or its last
occurrence in the copy before). An epoch is then found by scanning one copy with a threshold, and most
copies are settled in O(1): a copy that starts inside an epoch can only bring addresses that are the
first of their kind in U (all of them in the first copy; none once a whole copy lies in the epoch).
Groups (depthwise channels) reuse the segments shifted in cycles. Equal to the replay by construction;
tests/systolic/test_epochs.py checks it against traffic.read_traffic on random layers.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

from stationary.systolic.config import SystolicConfig
from stationary.systolic.timing import fold_geometry
from stationary.systolic.topology import SystolicProblem
from stationary.systolic.traffic import (
    CALC_PREFETCH_WORDS_PER_CYCLE,
    READ_PORT_LATENCY_CYCLES,
    IfmapTables,
    ReadTraffic,
    _skew_order,
    ifmap_tables,
)


@dataclass
class Cycles:
    """Cycle of each element of U, computed on demand: U is a run of folds, each a pattern of demand cycles
    (those of its valid addresses) shifted by the fold's start cycle."""

    starts: np.ndarray  # index in U of each fold's first element, plus len(U)
    shifts: list[int]  # start cycle of each fold
    patterns: list[np.ndarray] | None  # demand cycles of each fold's valid elements, relative to its start
    full: np.ndarray | None = None  # or: one pattern for all folds (padded to a full block) ...
    valid: np.ndarray | None = None  # ... and which of its elements each fold has [folds x block]

    def at(self, i: int) -> int:
        k = int(np.searchsorted(self.starts, i, side="right")) - 1
        if self.patterns is not None:
            pattern = self.patterns[k]
        else:
            pattern = self.full[self.valid[k]]  # type: ignore[index]
        return self.shifts[k] + int(pattern[i - int(self.starts[k])])


@dataclass
class Segment:
    """One block of demands U (valid addresses only, demand order), repeated `reps` times."""

    n: int
    reps: int
    rep_cycles: int  # cycles between two copies
    base_cycle: int  # cycle offset of the first copy (group 0)
    cycles: Cycles  # of the first copy, relative to base_cycle
    prev: np.ndarray  # previous occurrence of each element of U in the same copy (index into U), -1 if none
    block_max: np.ndarray  # max of prev over blocks of _BLOCK elements
    firsts: np.ndarray  # indices of the first occurrence of each address of U, ascending
    firsts_prev: np.ndarray  # their previous occurrence in a later copy: last occurrence in U minus n
    unique: bool  # every address of U distinct
    hint: int = 0  # length of the last epoch scanned here (how far to look next time)


_SCRATCH = threading.local()  # per-thread work buffers, kept across calls: fresh memory is slow to touch


def _scratch(name: str, n: int, dtype) -> np.ndarray:
    """A work array of n elements (contents undefined), reused across calls in this thread."""
    buf = getattr(_SCRATCH, name, None)
    if buf is None or len(buf) < n:
        buf = np.empty(max(n, 2 * len(buf) if buf is not None else n), dtype=dtype)
        setattr(_SCRATCH, name, buf)
    return buf[:n]


def _iota(n: int) -> np.ndarray:
    """0 .. n - 1 (int64), from a buffer kept across calls."""
    buf = getattr(_SCRATCH, "iota", None)
    if buf is None or len(buf) < n:
        buf = np.arange(max(n, 2 * len(buf) if buf is not None else n), dtype=np.int64)
        _SCRATCH.iota = buf
    return buf[:n]


def _segment(addrs: np.ndarray | None, cycles: Cycles, reps: int, rep_cycles: int, base_cycle: int) -> Segment:
    n = int(cycles.starts[-1])
    if addrs is None:  # filter blocks: every address distinct, nothing to sort
        empty = np.zeros(0, np.int64)
        return Segment(n, reps, rep_cycles, base_cycle, cycles, empty, empty, empty, empty, True)
    bits = max(n - 1, 1).bit_length()
    key = _scratch("key", n, np.int64)
    np.copyto(key, addrs)
    key <<= bits
    key |= _iota(n)
    key.sort()  # by address, then position (a stable sort of the addresses)
    dt = np.int32 if bits < 31 else np.int64
    pos = _scratch("pos" + np.dtype(dt).char, n, dt)
    np.copyto(pos, key, casting="unsafe")  # the low bits
    pos &= (1 << bits) - 1
    key >>= bits
    same = _scratch("same", n - 1, np.bool_)
    np.equal(key[1:], key[:-1], out=same)
    prev = np.full(n, -1, dtype=dt)
    prev[pos[1:][same]] = pos[:-1][same]
    head = np.flatnonzero(~same) + 1  # where each address's run starts in sorted order (but the first)
    fpos = np.concatenate((pos[:1], pos[head]))
    lpos = np.concatenate((pos[head - 1], pos[-1:]))
    order = np.argsort(fpos)
    fpos, fprev = fpos[order], lpos[order] - n
    nb = n // _BLOCK
    block_max = prev[:nb * _BLOCK].reshape(nb, _BLOCK).max(axis=1)
    return Segment(n, reps, rep_cycles, base_cycle, cycles, prev, block_max, fpos, fprev, len(fpos) == n)


_BLOCK = 1024  # Segment.block_max granularity


_SKEWED = (("os", "ifmap"), ("os", "filter"), ("ws", "ifmap"), ("is", "filter"))


def _pattern(key: tuple[str, str], R: int, T: int, ru: int, cu: int):
    """(operand-matrix row, column, demand cycle) of a fold's demands in order, and how the row and
    column shift with the fold's (r0, c0); the demand order of traffic.read_stream."""
    if key in _SKEWED:
        w = cu if key == ("os", "filter") else ru
        t, j, cyc = _skew_order(T, w)
        if key == ("os", "ifmap"):
            return j, t, cyc, (1, 0, 0, 0)  # row = j + r0, col = t
        if key == ("os", "filter"):
            return t, j, cyc, (0, 0, 0, 1)  # row = t, col = j + c0
        if key == ("ws", "ifmap"):
            return t, j, cyc + R, (0, 0, 1, 0)  # row = t, col = j + r0
        return j, t, cyc + R, (1, 0, 0, 0)  # is filter: row = j + r0, col = t
    i, j = np.divmod(np.arange(ru * cu), cu)  # un-skewed, flipped block: row i read at cycle R - 1 - i
    order = np.lexsort((j, -i))
    i, j = i[order], j[order]
    if key[1] == "filter":
        return i, j, R - 1 - i, (1, 0, 0, 1)
    return j, i, R - 1 - i, (0, 1, 1, 0)


def _blocks(tables: IfmapTables | None, key: tuple[str, str], R: int, T: int, L: int,
            folds: list[tuple[int, int, int, int, int]]) -> tuple[np.ndarray | None, Cycles]:
    """Addresses (valid only) and their cycles of the given folds (local index, r0, c0, rows used, cols
    used), in order. Filter addresses are all valid and distinct: they are not built (None). ifmap
    addresses are row[px] + col[k]; the term that does not move with the fold is gathered once per fold
    shape, and only pixels whose windows overhang the input are checked for validity."""
    pats: dict[tuple[int, int], tuple] = {}
    sizes = [0] * len(folds)
    for k, (_, _, _, ru, cu) in enumerate(folds):
        if (ru, cu) not in pats:
            pats[(ru, cu)] = _pattern(key, R, T, ru, cu)
        sizes[k] = len(pats[(ru, cu)][2])
    starts = np.concatenate(([0], np.cumsum(sizes)))
    shifts = [f * L for f, *_ in folds]
    if tables is None:
        return None, Cycles(starts, shifts, [pats[(ru, cu)][2] for *_, ru, cu in folds])
    out = np.empty(int(starts[-1]), dtype=tables.row.dtype)
    fixed: dict[tuple[int, int], tuple] = {}
    any_invalid = False
    for k, (_, r0, c0, ru, cu) in enumerate(folds):
        px, win, _, (rr, rc, cr, cc) = pats[(ru, cu)]
        po, wo = rr * r0 + rc * c0, cr * r0 + cc * c0
        dst = out[starts[k]:starts[k + 1]]
        if rr == rc == 0:  # the pixel pattern is the same in every fold (ws)
            if (ru, cu) not in fixed:
                fixed[(ru, cu)] = (tables.row[px], np.flatnonzero(tables.overhang[px]))
            term, check = fixed[(ru, cu)]
            np.take(tables.col, win + wo, out=dst)
        elif cr == cc == 0:  # the window pattern is (os)
            if (ru, cu) not in fixed:
                fixed[(ru, cu)] = (tables.col[win], None)
            term, check = fixed[(ru, cu)]
            np.take(tables.row, px + po, out=dst)
            check = np.flatnonzero(tables.overhang[px + po])
        else:
            raise AssertionError(f"{key}: both operand-matrix indices move with the fold")
        dst += term
        if len(check):
            bad = check[tables.invalid(px[check] + po, win[check] + wo)]
            if len(bad):
                dst[bad] = -1
                any_invalid = True
    if not any_invalid:
        return out, Cycles(starts, shifts, [pats[(ru, cu)][2] for *_, ru, cu in folds])
    valid = out >= 0
    patterns, kept = [], [0]
    for k, (*_, ru, cu) in enumerate(folds):
        v = valid[starts[k]:starts[k + 1]]
        patterns.append(pats[(ru, cu)][2][v])
        kept.append(kept[-1] + len(patterns[-1]))
    return out[valid], Cycles(np.array(kept), shifts, patterns)


def _is_ifmap_blocks(tables: IfmapTables, R: int, C: int, L: int, row_folds: int,
                     col_folds: int) -> tuple[np.ndarray, Cycles]:
    """The IS ifmap stream at once: fold (fr, fc) reads the ifmap-matrix block [pixels c0.., window r0..],
    window row i at cycle R - 1 - i (rows in descending order), pixels in order. A transpose of the matrix
    padded to whole folds; the padding and the overhanging windows are dropped."""
    mat = tables.matrix()
    px, k = mat.shape
    padded = np.full((col_folds * C, row_folds * R), -1, dtype=mat.dtype)
    padded[:px, :k] = mat
    del mat
    blocks = padded.reshape(col_folds, C, row_folds, R)[:, :, :, ::-1].transpose(0, 2, 3, 1)
    flat = blocks.reshape(col_folds * row_folds, R * C)
    valid = flat >= 0
    starts = np.concatenate(([0], np.cumsum(valid.sum(axis=1))))
    full = np.repeat(np.arange(R), C)  # cycle R - 1 - i of row i, rows descending
    return flat[valid], Cycles(starts, [f * L for f in range(col_folds * row_folds)], None, full, valid)


def read_segments(p: SystolicProblem, cfg: SystolicConfig, operand: str) -> tuple[list[Segment], int]:
    """The demand stream of `operand` for group 0 as segments, and the cycles between two groups."""
    g = fold_geometry(p, cfg)
    R, C, T, L = g.array_rows, g.array_cols, g.temporal, g.cycles_per_fold
    rows_used, cols_used = g.rows_used(), g.cols_used()
    mat = ifmap_tables(p, 0) if operand == "ifmap" else None  # filter addresses are not needed
    key = (cfg.dataflow, operand)
    segs: list[Segment] = []
    if key in (("os", "ifmap"), ("ws", "ifmap"), ("is", "filter")):  # row folds, re-streamed per column fold
        folds = [(fr, fr * R, 0, rows_used[fr], cols_used[0]) for fr in range(g.row_folds)]
        a, c = _blocks(mat, key, R, T, L, folds)
        segs.append(_segment(a, c, g.col_folds, g.row_folds * L, 0))
    elif key == ("os", "filter"):  # one column block, re-streamed per row fold
        for fc in range(g.col_folds):
            a, c = _blocks(mat, key, R, T, L, [(0, 0, fc * C, rows_used[0], cols_used[fc])])
            segs.append(_segment(a, c, g.row_folds, L, fc * g.row_folds * L))
    elif key == ("is", "ifmap"):  # every fold its own block, once
        a, c = _is_ifmap_blocks(mat, R, C, L, g.row_folds, g.col_folds)  # type: ignore[arg-type]
        segs.append(_segment(a, c, 1, 0, 0))
    else:  # ws filter: every fold its own block, once
        folds = [(fc * g.row_folds + fr, fr * R, fc * C, rows_used[fr], cols_used[fc])
                 for fc in range(g.col_folds) for fr in range(g.row_folds)]
        a, c = _blocks(mat, key, R, T, L, folds)
        segs.append(_segment(a, c, 1, 0, 0))
    return [s for s in segs if s.n], g.folds * L


def _new_in_copy(seg: Segment, r: int, j: int, th: int, need: int) -> tuple[int, int]:
    """New addresses among U[j:] in copy r for an epoch whose start is at local index th of this copy:
    (how many, up to `need`; index of the need-th one or -1)."""
    n = seg.n
    if seg.unique:  # previous occurrence of U[k] is k - n (or none in the first copy)
        hi = n if r == 0 else min(n, max(j, th + n))
        k = hi - j
        return (need, j + need - 1) if k >= need else (k, -1)
    if th <= 0:  # epoch began before this copy: only first occurrences can be new
        if r and th <= -n:
            return 0, -1
        i0 = int(np.searchsorted(seg.firsts, j))
        cand = seg.firsts[i0:]
        if r:
            cand = cand[seg.firsts_prev[i0:] < th]
        if len(cand) >= need:
            return need, int(cand[need - 1])
        return len(cand), -1
    # the epoch began at j (th == j): first occurrences are new in every copy (their previous occurrence, if
    # any, is in the copy before), the others iff their previous occurrence is before j
    prev = seg.prev
    e = j + need
    if e <= n:  # fast path: no address repeats within [j, e), all of it is new
        b0, b1 = -(-j // _BLOCK), e // _BLOCK
        if b0 >= b1:
            if prev[j:e].max() < th:
                return need, e - 1
        elif (seg.block_max[b0:b1].max() < th and prev[j:b0 * _BLOCK].max(initial=-1) < th
              and prev[b1 * _BLOCK:e].max(initial=-1) < th):
            return need, e - 1
    j0, found = j, 0
    span = max(seg.hint + seg.hint // 8, need, 1024)  # epochs in one segment tend to be alike
    while j < n:
        hits = np.flatnonzero(prev[j:j + span] < th)
        if found + len(hits) >= need:
            b = j + int(hits[need - found - 1])
            seg.hint = b + 1 - j0
            return need, b
        found += len(hits)
        j += span
        span *= 2
    return found, -1


def fast_read_traffic(segs: list[Segment], groups: int, group_cycles: int, sram_kb: int,
                      prefetch_words_per_cycle: int = CALC_PREFETCH_WORDS_PER_CYCLE) -> ReadTraffic:
    """traffic.read_traffic's result, computed from the segments (see the module docstring)."""
    if not segs:
        return ReadTraffic(0, 0, 0, 0, 0)
    words = sram_kb * 1024
    set_words = words // 100
    total_n = groups * sum(s.n * s.reps for s in segs)
    capacity = 50 * set_words if set_words else total_n + 1
    total, count, start, G = 0, 0, 0, 0  # epoch start and segment start as global stream positions
    last_roll: int | None = None
    for grp in range(groups):
        for seg in segs:
            n, end = seg.n, G + seg.n * seg.reps
            pos = max(G, start)
            while pos < end:
                r, j = divmod(pos - G, n)
                th = start - (G + r * n)
                k, b = _new_in_copy(seg, r, j, th, capacity - count)
                if b >= 0:
                    total += capacity
                    count = 0
                    start = G + r * n + b + 1
                    last_roll = grp * group_cycles + seg.base_cycle + r * seg.rep_cycles + seg.cycles.at(b)
                    pos = start
                else:
                    count += k
                    # an epoch that began before copy r sees nothing new in copy r + 1 and after
                    pos = end if th <= 0 else G + (r + 1) * n
            G = end
    total += count
    first_req = segs[0].base_cycle + segs[0].cycles.at(0)
    last = segs[-1]
    last_cycle = (groups - 1) * group_cycles + last.base_cycle + (last.reps - 1) * last.rep_cycles \
        + last.cycles.at(last.n - 1)
    lat = READ_PORT_LATENCY_CYCLES
    if last_roll is not None:
        end0 = first_req - 1 - lat
        start_c = end0 - math.ceil(capacity / prefetch_words_per_cycle) + 1
        stop = last_roll
    else:
        end0 = -1 - lat
        sets = math.ceil(count / set_words) if set_words else 1
        start_c = end0 - math.ceil(sets * set_words / prefetch_words_per_cycle) + 1
        stop = end0
    return ReadTraffic(total, start_c + lat, stop + lat, first_req + 1, last_cycle + 1)


def operand_read_traffic(p: SystolicProblem, cfg: SystolicConfig, operand: str) -> ReadTraffic:
    """DRAM reads of the ifmap or filter SRAM, exactly as traffic.read_traffic(read_stream(...))."""
    segs, group_cycles = read_segments(p, cfg, operand)
    kb = cfg.ifmap_sram_kb if operand == "ifmap" else cfg.filter_sram_kb
    return fast_read_traffic(segs, p.groups, group_cycles, kb)
