"""Folds, fill/drain and per-fold cycles, SRAM accesses and utilization of one layer on an R x C array.

The layer is the product ifmap[Sr' x K] x filter[K x M]; each dataflow pins two of the three matrix
dimensions to the array's rows/columns (Sr x Sc, spatial) and streams the third (T, temporal):

  dataflow  Sr (array rows)  Sc (array cols)  T (streamed)   cycles per fold
  OS        ofmap px         filters M        window K       T + R + C - 2
  WS        window K         filters M        ofmap px       T + 2R + C - 2
  IS        window K         ofmap px         filters M      T + 2R + C - 2

The operand matrices are cut into ceil(Sr/R) x ceil(Sc/C) folds, run one after another (column fold
outer, row fold inner). These are SCALE-Sim 3.0's demand-matrix shapes (systolic_compute_{os,ws,is}.py),
counted instead of built: total cycles = folds * cycles_per_fold - 1 (SCALE-Sim counts from cycle 0).
"""

from __future__ import annotations

from dataclasses import dataclass

from stationary.systolic.config import SystolicConfig
from stationary.systolic.topology import SystolicProblem


@dataclass(frozen=True)
class FoldGeometry:
    """How one group of a layer folds onto the array (spatial Sr x Sc, temporal T)."""

    dataflow: str
    array_rows: int
    array_cols: int
    spatial_rows: int
    spatial_cols: int
    temporal: int
    row_folds: int
    col_folds: int
    cycles_per_fold: int  # rows of SCALE-Sim's per-fold demand matrix: fill + stream + drain
    util_cycles_per_fold: int  # the per-fold cycle count SCALE-Sim divides by for compute utilization

    @property
    def folds(self) -> int:
        return self.row_folds * self.col_folds

    def rows_used(self) -> list[int]:
        """Array rows used in each row fold (the last one may be partial)."""
        r = self.array_rows
        return [min(r, self.spatial_rows - i * r) for i in range(self.row_folds)]

    def cols_used(self) -> list[int]:
        c = self.array_cols
        return [min(c, self.spatial_cols - i * c) for i in range(self.col_folds)]


def fold_geometry(p: SystolicProblem, cfg: SystolicConfig) -> FoldGeometry:
    """Spatial/temporal split and fold counts for the config's dataflow."""
    R, C = cfg.array_rows, cfg.array_cols
    K, M, px = p.window, p.num_filters, p.ofmap_px
    if cfg.dataflow == "os":
        sr, sc, t = px, M, K
        per_fold = t + R + C - 2
        util = per_fold
    elif cfg.dataflow == "ws":
        sr, sc, t = K, M, px
        per_fold = 2 * R + C + t - 2
        util = per_fold + C - 1
    else:  # is
        sr, sc, t = K, px, M
        per_fold = 2 * R + C + t - 2
        util = per_fold + C - 1
    return FoldGeometry(cfg.dataflow, R, C, sr, sc, t, -(-sr // R), -(-sc // C), per_fold, util)


@dataclass(frozen=True)
class ComputeCounts:
    """Cycle and SRAM-access counts of one layer (all groups), before memory stalls."""

    compute_cycles: int  # SCALE-Sim's 'Total Cycles' with no stall
    folds: int
    macs: int
    mapping_efficiency_pct: float
    compute_util_pct: float
    sram_ifmap_reads: int
    sram_filter_reads: int
    sram_ofmap_writes: int


def compute_counts(p: SystolicProblem, cfg: SystolicConfig) -> ComputeCounts:
    """Closed-form cycles, SRAM reads/writes and utilization (SCALE-Sim's compute report, exactly)."""
    g = fold_geometry(p, cfg)
    R, C = g.array_rows, g.array_cols
    K, M, px = p.window, p.num_filters, p.ofmap_px
    # mean over the fold grid of the MACs used per fold: the used rows x columns of all folds sum to Sr x Sc
    # (closed form: the grid can have billions of folds)
    mapping = g.spatial_rows * g.spatial_cols / (R * C) / g.folds
    util = mapping * g.temporal / g.util_cycles_per_fold
    if g.dataflow == "os":
        ifmap = K * px * g.col_folds
        filt = K * M * g.row_folds
        ofmap = px * M + g.folds * (R + C)  # SCALE-Sim also counts R + C per fold (its drain bookkeeping)
    elif g.dataflow == "ws":
        ifmap = px * K * g.col_folds
        filt = K * M
        ofmap = px * M * g.row_folds  # partial sums written once per row fold
    else:
        ifmap = K * px
        filt = M * K * g.col_folds
        ofmap = M * px * g.row_folds
    G = p.groups
    # groups (depthwise channels) run one after another, each as its own SCALE-Sim layer
    return ComputeCounts(
        compute_cycles=G * (g.folds * g.cycles_per_fold) - 1,
        folds=G * g.folds, macs=p.macs, mapping_efficiency_pct=100 * mapping, compute_util_pct=100 * util,
        sram_ifmap_reads=G * ifmap, sram_filter_reads=G * filt, sram_ofmap_writes=G * ofmap,
    )
