"""One call per layer: cycles, stalls, utilization, SRAM and DRAM accesses and energy of a systolic run."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, fields

import numpy as np

from stationary.errors import StationaryError
from stationary.systolic import epochs, traffic
from stationary.systolic.config import SystolicConfig
from stationary.systolic.energy import EnergyTable, horowitz45, layer_energy_pj
from stationary.systolic.timing import compute_counts, fold_geometry
from stationary.systolic.topology import SystolicProblem

DRAM_MODES = ("exact", "replay", "estimate")


@dataclass(frozen=True)
class LayerResult:
    """Everything SCALE-Sim reports for a layer, plus MACs and energy; every number carries its unit."""

    name: str
    dataflow: str
    macs: int
    total_cycles_incl_prefetch: int  # cycles from the first DRAM prefetch to the last ofmap write-back
    total_cycles: int  # cycles the layer takes, stalls included: >= MACs / PEs
    stall_cycles: int
    overall_util_pct: float  # MACs / (total_cycles x PEs): in (0, 100]
    mapping_efficiency_pct: float
    compute_util_pct: float
    sram_ifmap_reads: int
    sram_filter_reads: int
    sram_ofmap_writes: int
    dram_ifmap_reads: int
    dram_filter_reads: int
    dram_ofmap_writes: int
    sram_ifmap_start_cycle: int
    sram_ifmap_stop_cycle: int
    sram_filter_start_cycle: int
    sram_filter_stop_cycle: int
    sram_ofmap_start_cycle: int
    sram_ofmap_stop_cycle: int
    dram_ifmap_start_cycle: int
    dram_ifmap_stop_cycle: int
    dram_filter_start_cycle: int
    dram_filter_stop_cycle: int
    dram_ofmap_start_cycle: int
    dram_ofmap_stop_cycle: int
    dram_mode: str
    # SCALE-Sim's own report numbers: it counts the index of the last cycle (one less than the cycles taken),
    # so its utilization can pass 100 % (a 1 x 1 array: 0 cycles for 1 MAC); kept for parity and its CSVs
    scalesim_total_cycles_incl_prefetch: int = 0
    scalesim_total_cycles: int = 0
    scalesim_overall_util_pct: float = 0.0
    energy_mac_pj: float = 0.0
    energy_sram_pj: float = 0.0
    energy_dram_pj: float = 0.0
    energy_total_pj: float = 0.0

    def to_json(self) -> dict:
        return asdict(self)


DEFAULT_MAX_WORK_BYTES = 4 * 2**30  # a layer needing more working memory than this is refused (see preflight)
MAX_STEPS = 5_000_000  # Python-level steps (folds, segments, drain events) of one layer, at most
STREAM_WORD_BYTES = 48  # working arrays per built demand: address, cycle, sort key, position, previous occurrence
CYCLE_BYTES = 24  # replay's per-cycle ofmap arrays: counts, cumulative counts, non-zero cycles
FOLD_BYTES = 256  # Python bookkeeping per built fold (tuples, shifts, patterns)
PIXEL_BYTES = 64  # ifmap address tables: per output pixel and per window element


@dataclass(frozen=True)
class Preflight:
    """What a layer would cost in one DRAM mode, before anything is allocated."""

    work_bytes: int
    steps: int


def preflight(p: SystolicProblem, cfg: SystolicConfig, dram: str) -> Preflight:
    """Working memory and Python steps `simulate_layer` needs for `p` in mode `dram` (upper estimates, O(1))."""
    if dram == "estimate":
        return Preflight(0, 1)
    g = fold_geometry(p, cfg)
    G, px, K, M = p.groups, p.ofmap_px, p.window, p.num_filters
    writes = traffic.drain_events(traffic.ofmap_writes(p, cfg).total, cfg.ofmap_sram_kb)
    tables = PIXEL_BYTES * (px + K)
    if dram == "replay":
        stream = G * (px * K * (g.col_folds if cfg.dataflow != "is" else 1) + K * M * g.row_folds)
        cycles = G * g.folds * g.cycles_per_fold
        return Preflight(STREAM_WORD_BYTES * stream + CYCLE_BYTES * cycles + FOLD_BYTES * G * g.folds + tables,
                         2 * G * g.folds + writes)
    ifmap = (g.col_folds * g.array_cols * g.row_folds * g.array_rows) if cfg.dataflow == "is" else px * K
    segments = g.col_folds if cfg.dataflow == "os" else 1
    return Preflight(STREAM_WORD_BYTES * ifmap + FOLD_BYTES * 2 * g.folds + tables,
                     2 * g.folds + G * (segments + 1) + writes)


def check_preflight(p: SystolicProblem, cfg: SystolicConfig, dram: str, max_bytes: int) -> None:
    """Refuse a layer whose `dram` mode would need more than `max_bytes` or MAX_STEPS, naming what it needs
    and the closed-form mode that needs neither."""
    need = preflight(p, cfg, dram)
    if need.work_bytes <= max_bytes and need.steps <= MAX_STEPS:
        return
    what = (f"about {need.work_bytes / 2**30:,.1f} GiB of working memory (limit {max_bytes / 2**30:,.1f} GiB)"
            if need.work_bytes > max_bytes else f"about {need.steps:,} steps (limit {MAX_STEPS:,})")
    raise StationaryError(
        f"layer {p.name}: --dram {dram} on a {cfg.array_rows}x{cfg.array_cols} array would need {what}; "
        "--dram estimate computes it in closed form (same cycles, SRAM and ofmap counts, approximate "
        "ifmap/filter DRAM reads), or raise --max-memory-gib", field="--dram")


def _estimate_reads(distinct_words: int, restreams: int, sram_reads: int, sram_kb: int, fold_words: int) -> int:
    """DRAM reads without replaying the stream: compulsory if the operand fits half the SRAM; every SRAM read
    if one fold's block does not (no reuse survives); else the operand once per re-stream."""
    capacity = 50 * ((sram_kb * 1024) // 100)
    if distinct_words <= capacity:
        return distinct_words
    if fold_words > capacity:
        return sram_reads
    return min(sram_reads, distinct_words * restreams)


def _estimate_writes(writes: traffic.OfmapWrites, compute_cycles: int, line_words: int) -> traffic.WriteTraffic:
    """The ofmap buffer without replaying its drains: every output word written back once (the replay adds
    at most line_words - 1 per drain of half the SRAM), no stall (CALC drains a line per cycle, faster than
    the array writes; USER mode's roofline stall is added by the caller)."""
    first, last = writes.first_reaching(1), writes.first_reaching(writes.total)
    return traffic.WriteTraffic(writes.total, first, compute_cycles, first, last, 0)


def simulate_layer(p: SystolicProblem, cfg: SystolicConfig, dram: str = "exact",
                   energy: EnergyTable | None = None, max_bytes: int = DEFAULT_MAX_WORK_BYTES) -> LayerResult:
    """Model one layer on the array. `dram='exact'` gives SCALE-Sim's SRAM-DRAM buffer counts from the
    periodic structure of the demand stream (epochs.py); 'replay' gets the same numbers by building the whole
    address stream (traffic.py; slow, the reference); 'estimate' uses closed-form compulsory/re-stream rules
    (no address stream, no per-cycle array; approximate ifmap/filter DRAM reads). A layer whose mode would
    need more than `max_bytes` of working memory is refused before anything is allocated (check_preflight)."""
    if dram not in DRAM_MODES:
        raise StationaryError(f"dram mode must be one of {', '.join(DRAM_MODES)}, got {dram!r}", field="dram")
    check_preflight(p, cfg, dram, max_bytes)
    cc = compute_counts(p, cfg)
    g = fold_geometry(p, cfg)
    line_words = cfg.array_cols if cfg.bandwidth_mode == "CALC" else cfg.bandwidth_words_per_cycle
    if dram == "exact":
        wr = traffic.write_traffic(traffic.ofmap_writes(p, cfg), cfg.ofmap_sram_kb, line_words)
        rd_i = epochs.operand_read_traffic(p, cfg, "ifmap")
        rd_f = epochs.operand_read_traffic(p, cfg, "filter")
    elif dram == "replay":
        cum = np.cumsum(traffic.ofmap_writes_per_cycle(p, cfg))
        wr = traffic.write_traffic(traffic.ArrayWrites(cum), cfg.ofmap_sram_kb, line_words)
        a, c = traffic.read_stream(p, cfg, "ifmap")
        rd_i = traffic.read_traffic(a, c, cfg.ifmap_sram_kb)
        a, c = traffic.read_stream(p, cfg, "filter")
        rd_f = traffic.read_traffic(a, c, cfg.filter_sram_kb)
    else:
        wr = _estimate_writes(traffic.ofmap_writes(p, cfg), cc.compute_cycles, line_words)
        ifmap_words = p.groups * p.batch * p.ifmap_h * p.ifmap_w * p.channels
        filter_words = p.groups * p.window * p.num_filters
        re_i = g.col_folds if cfg.dataflow in ("os", "ws") else 1
        re_f = g.col_folds if cfg.dataflow == "is" else 1
        R, C, T = g.array_rows, g.array_cols, g.temporal  # fold block words of the filter stream
        fold_i = 0  # im2col repeats sit close together in the stream: reuse survives (estimate only)
        fold_f = {"os": T * C, "ws": R * C, "is": T * R}[cfg.dataflow]
        n_i = _estimate_reads(ifmap_words, re_i, cc.sram_ifmap_reads, cfg.ifmap_sram_kb, fold_i)
        n_f = _estimate_reads(filter_words, re_f, cc.sram_filter_reads, cfg.filter_sram_kb, fold_f)
        first = -math.ceil(50 * (cfg.ifmap_sram_kb * 1024 // 100) / traffic.CALC_PREFETCH_WORDS_PER_CYCLE)
        rd_i = traffic.ReadTraffic(n_i, first, cc.compute_cycles, 1, cc.compute_cycles)
        rd_f = traffic.ReadTraffic(n_f, first, cc.compute_cycles, 1, cc.compute_cycles)
    stall = wr.stall_cycles
    if cfg.bandwidth_mode == "USER":  # roofline: DRAM words at the user bandwidth vs compute cycles
        dram_cycles = math.ceil((rd_i.dram_reads + rd_f.dram_reads) / cfg.bandwidth_words_per_cycle)
        stall = max(stall, dram_cycles - (cc.compute_cycles + 1))
    scalesim_total = cc.compute_cycles + stall  # SCALE-Sim's: the index of the last cycle
    total = scalesim_total + 1
    macs_per_cycle = cfg.macs_per_cycle
    scalesim_util = 100.0 * cc.macs / (scalesim_total * macs_per_cycle) if scalesim_total > 0 else 0.0
    scalesim_incl_prefetch = int(wr.dram_stop_cycle - min(rd_i.dram_start_cycle, rd_f.dram_start_cycle))
    counts = {
        "sram_ifmap_reads": cc.sram_ifmap_reads, "sram_filter_reads": cc.sram_filter_reads,
        "sram_ofmap_writes": cc.sram_ofmap_writes, "dram_ifmap_reads": rd_i.dram_reads,
        "dram_filter_reads": rd_f.dram_reads, "dram_ofmap_writes": wr.dram_writes,
    }
    e = layer_energy_pj(cc.macs, counts, energy or horowitz45(cfg))
    return LayerResult(
        name=p.name, dataflow=cfg.dataflow, macs=cc.macs,
        total_cycles_incl_prefetch=scalesim_incl_prefetch + 1,
        total_cycles=total, stall_cycles=stall, overall_util_pct=100.0 * cc.macs / (total * macs_per_cycle),
        mapping_efficiency_pct=cc.mapping_efficiency_pct, compute_util_pct=cc.compute_util_pct,
        **counts,
        sram_ifmap_start_cycle=rd_i.sram_start_cycle, sram_ifmap_stop_cycle=rd_i.sram_stop_cycle,
        sram_filter_start_cycle=rd_f.sram_start_cycle, sram_filter_stop_cycle=rd_f.sram_stop_cycle,
        sram_ofmap_start_cycle=wr.sram_start_cycle, sram_ofmap_stop_cycle=wr.sram_stop_cycle,
        dram_ifmap_start_cycle=rd_i.dram_start_cycle, dram_ifmap_stop_cycle=rd_i.dram_stop_cycle,
        dram_filter_start_cycle=rd_f.dram_start_cycle, dram_filter_stop_cycle=rd_f.dram_stop_cycle,
        dram_ofmap_start_cycle=wr.dram_start_cycle, dram_ofmap_stop_cycle=wr.dram_stop_cycle,
        dram_mode=dram, scalesim_total_cycles_incl_prefetch=scalesim_incl_prefetch,
        scalesim_total_cycles=scalesim_total, scalesim_overall_util_pct=scalesim_util,
        energy_mac_pj=e["energy_mac_pj"], energy_sram_pj=e["energy_sram_pj"], energy_dram_pj=e["energy_dram_pj"],
        energy_total_pj=e["energy_total_pj"],
    )


def simulate_network(problems: Iterable[SystolicProblem], cfg: SystolicConfig, dram: str = "exact",
                     energy: EnergyTable | None = None, max_bytes: int = DEFAULT_MAX_WORK_BYTES,
                     progress: Callable[[int, int], None] | None = None) -> list[LayerResult]:
    """Model every layer in order (layers are independent: SCALE-Sim flushes the SRAMs between them). Every
    layer passes the pre-flight check before any is computed; layers of one shape are computed once (a
    topology of 100,000 identical rows costs one layer). `progress(done, total)` after each layer."""
    problems = list(problems)
    shapes: dict[tuple, LayerResult | None] = {}
    keys = [_shape(p) for p in problems]
    for key, p in zip(keys, problems):
        if key not in shapes:
            check_preflight(p, cfg, dram, max_bytes)
            shapes[key] = None
    out = []
    for k, (key, p) in enumerate(zip(keys, problems)):
        r = shapes[key]
        if r is None:
            r = shapes[key] = simulate_layer(p, cfg, dram, energy, max_bytes)
        if r.name != p.name:  # the frozen result of the same shape, renamed (a shallow copy: 1 us)
            renamed = object.__new__(LayerResult)
            renamed.__dict__.update(r.__dict__, name=p.name)
            r = renamed
        out.append(r)
        if progress:
            progress(k + 1, len(problems))
    return out


_SHAPE_FIELDS = tuple(f.name for f in fields(SystolicProblem) if f.name not in ("name", "source"))


def _shape(p: SystolicProblem) -> tuple:
    """What a layer's result depends on: everything but its name and file."""
    return tuple(getattr(p, f) for f in _SHAPE_FIELDS)


__all__ = ["DRAM_MODES", "LayerResult", "np", "simulate_layer", "simulate_network"]
