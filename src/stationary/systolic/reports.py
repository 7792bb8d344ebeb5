"""SCALE-Sim's three report CSVs (same file names, columns and conventions), so its users can switch tools.

Cycle totals and utilization are SCALE-Sim's own (`scalesim_*`: the index of the last cycle, one less than
the cycles taken); `stationary systolic --json` and its table give the true counts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from stationary.systolic.model import LayerResult

COMPUTE_HEADER = ("LayerID, Total Cycles (incl. prefetch), Total Cycles, Stall Cycles, Overall Util %, "
                  "Mapping Efficiency %, Compute Util %,\n")
BANDWIDTH_HEADER = ("LayerID, Avg IFMAP SRAM BW, Avg FILTER SRAM BW, Avg OFMAP SRAM BW, "
                    "Avg IFMAP DRAM BW, Avg FILTER DRAM BW, Avg OFMAP DRAM BW,\n")
DETAIL_HEADER = ("LayerID, SRAM IFMAP Start Cycle, SRAM IFMAP Stop Cycle, SRAM IFMAP Reads, "
                 "SRAM Filter Start Cycle, SRAM Filter Stop Cycle, SRAM Filter Reads, "
                 "SRAM OFMAP Start Cycle, SRAM OFMAP Stop Cycle, SRAM OFMAP Writes, "
                 "DRAM IFMAP Start Cycle, DRAM IFMAP Stop Cycle, DRAM IFMAP Reads, "
                 "DRAM Filter Start Cycle, DRAM Filter Stop Cycle, DRAM Filter Reads, "
                 "DRAM OFMAP Start Cycle, DRAM OFMAP Stop Cycle, DRAM OFMAP Writes,\n")


def _row(lid: int, items: Sequence[object]) -> str:
    return f"{lid}, " + ", ".join(str(x) for x in items) + ",\n"


def _bw(words: int, start: int, stop: int) -> float:
    return words / (stop - start + 1) if stop - start + 1 else 0.0


def write_reports(results: Sequence[LayerResult], outdir: str | Path) -> list[Path]:
    """COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv and DETAILED_ACCESS_REPORT.csv in `outdir`."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    compute, bandwidth, detail = [COMPUTE_HEADER], [BANDWIDTH_HEADER], [DETAIL_HEADER]
    for lid, r in enumerate(results):
        cyc = r.scalesim_total_cycles or 1
        compute.append(_row(lid, (r.scalesim_total_cycles_incl_prefetch, r.scalesim_total_cycles, r.stall_cycles,
                                  r.scalesim_overall_util_pct, r.mapping_efficiency_pct, r.compute_util_pct)))
        bandwidth.append(_row(lid, (
            r.sram_ifmap_reads / cyc, r.sram_filter_reads / cyc, r.sram_ofmap_writes / cyc,
            _bw(r.dram_ifmap_reads, r.dram_ifmap_start_cycle, r.dram_ifmap_stop_cycle),
            _bw(r.dram_filter_reads, r.dram_filter_start_cycle, r.dram_filter_stop_cycle),
            _bw(r.dram_ofmap_writes, r.dram_ofmap_start_cycle, r.dram_ofmap_stop_cycle))))
        detail.append(_row(lid, (
            r.sram_ifmap_start_cycle, r.sram_ifmap_stop_cycle, r.sram_ifmap_reads,
            r.sram_filter_start_cycle, r.sram_filter_stop_cycle, r.sram_filter_reads,
            r.sram_ofmap_start_cycle, r.sram_ofmap_stop_cycle, r.sram_ofmap_writes,
            r.dram_ifmap_start_cycle, r.dram_ifmap_stop_cycle, r.dram_ifmap_reads,
            r.dram_filter_start_cycle, r.dram_filter_stop_cycle, r.dram_filter_reads,
            r.dram_ofmap_start_cycle, r.dram_ofmap_stop_cycle, r.dram_ofmap_writes)))
    paths = []
    for name, lines in (("COMPUTE_REPORT.csv", compute), ("BANDWIDTH_REPORT.csv", bandwidth),
                        ("DETAILED_ACCESS_REPORT.csv", detail)):
        path = out / name
        path.write_text("".join(lines))
        paths.append(path)
    return paths
