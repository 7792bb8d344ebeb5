"""`systolic(...)`: SCALE-Sim's cycles, SRAM/DRAM traffic, utilization and energy per layer, as a frozen result."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stationary.api.result import ApiResult
from stationary.errors import StationaryError
from stationary.systolic import problem_from_layer, read_config, read_topology, simulate_network
from stationary.systolic.model import DEFAULT_MAX_WORK_BYTES, DRAM_MODES, LayerResult
from stationary.systolic.reports import write_reports

# the per-layer keys of `stationary systolic --json` (and of `SystolicResult.rows()`), in that order
JSON_FIELDS = ("name", "total_cycles", "stall_cycles", "overall_util_pct", "mapping_efficiency_pct",
               "compute_util_pct", "sram_ifmap_reads", "sram_filter_reads", "sram_ofmap_writes",
               "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes", "total_cycles_incl_prefetch",
               "macs", "energy_mac_pj", "energy_sram_pj", "energy_dram_pj", "energy_total_pj",
               "scalesim_total_cycles", "scalesim_total_cycles_incl_prefetch", "scalesim_overall_util_pct")


@dataclass(frozen=True)
class SystolicResult(ApiResult):
    """Every layer's SCALE-Sim numbers (`LayerResult`: cycles, words read and written, energy in pJ) on one array."""

    config: str  # the .cfg file read
    dataflow: str  # os, ws or is
    dram_mode: str  # exact, replay or estimate
    array_rows: int
    array_cols: int
    title: str  # what ran on what, for a table's heading
    layers: tuple[LayerResult, ...]

    @property
    def total_cycles(self) -> int:
        """Cycles of all layers run one after another (SCALE-Sim flushes the SRAMs between layers)."""
        return sum(r.total_cycles for r in self.layers)

    @property
    def energy_total_pj(self) -> float:
        """Energy of all layers: MACs, SRAM and DRAM."""
        return sum(r.energy_total_pj for r in self.layers)

    def to_json(self) -> dict[str, Any]:
        """What `stationary systolic --json` prints."""
        return {"config": self.config, "dataflow": self.dataflow, "dram_mode": self.dram_mode,
                "array": [self.array_rows, self.array_cols], "layers": self.rows()}

    def rows(self) -> list[dict[str, Any]]:
        """One row per layer: the `--json` layer keys."""
        return [{k: getattr(r, k) for k in JSON_FIELDS} for r in self.layers]

    def write_reports(self, outdir: str | Path) -> list[Path]:
        """SCALE-Sim's three report CSVs (COMPUTE, BANDWIDTH, DETAILED_ACCESS) in `outdir`."""
        return write_reports(self.layers, outdir)

    def plot(self, path: str | Path) -> Path:
        """A PNG of each layer's cycles (bars) and overall utilization (line): the report's cycles figure."""
        from stationary.report.figure import pyplot, save_png
        from stationary.report.plots import cycles_figure

        plt = pyplot()
        rows = [{"name": r.name, "cycles": r.total_cycles, "utilization": r.overall_util_pct / 100}
                for r in self.layers]
        return save_png(cycles_figure(plt, rows), path)


def systolic(config: str | Path, *, topology: str | Path | None = None, model: str | None = None, batch: int = 1,
             dataflow: str | None = None, dram: str = "exact", outdir: str | Path | None = None,
             max_memory_gib: float = DEFAULT_MAX_WORK_BYTES / 2**30,
             progress: Callable[[int, int], None] | None = None) -> SystolicResult:
    """Model a SCALE-Sim topology CSV, or a network (`model`: zoo name, .onnx, file.py:factory), layer by layer on
    the systolic array of `config`; `dataflow` overrides the config's, `outdir` also writes SCALE-Sim's CSVs.
    `dram` exact or replay needs working memory per layer: a layer needing more than `max_memory_gib` is refused.
    `progress(done, total)` after each layer."""
    if dram not in DRAM_MODES:
        raise StationaryError(f"must be one of {', '.join(DRAM_MODES)}, got {dram!r}", field="--dram")
    if (topology is None) == (model is None):
        raise StationaryError("give exactly one of --topology or --model", field="--topology")
    cfg = read_config(config, dataflow=dataflow.lower() if dataflow else None)
    shape = f"{cfg.array_rows}x{cfg.array_cols} {cfg.dataflow.upper()}"
    if topology is not None:
        problems = read_topology(topology)
        title = f"{topology} on {shape}"
    else:
        from stationary.workload.load import load_network

        net = load_network(str(model), batch=batch)
        problems = tuple(p for p in (problem_from_layer(layer) for layer in net) if p is not None)
        title = f"{net.name} (batch {batch}) on {shape}"
    if not (max_memory_gib > 0 and math.isfinite(max_memory_gib)):
        raise StationaryError(f"must be a positive number, got {max_memory_gib}", field="--max-memory-gib")
    layers = simulate_network(problems, cfg, dram=dram, max_bytes=int(max_memory_gib * 2**30), progress=progress)
    result = SystolicResult(config=cfg.source, dataflow=cfg.dataflow, dram_mode=dram, array_rows=cfg.array_rows,
                            array_cols=cfg.array_cols, title=title, layers=tuple(layers))
    if outdir:
        result.write_reports(outdir)
    return result
