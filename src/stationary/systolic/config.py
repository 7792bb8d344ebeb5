"""A SCALE-Sim `.cfg` file as a validated, frozen architecture spec (array, SRAMs, dataflow, bandwidth).

The file is read under a size bound; every section and key must be one SCALE-Sim knows (a misspelt key is
an error naming the nearest one), every number is a whole ASCII number in range, and the SCALE-Sim options
this model does not reproduce (sparsity, custom SRAM layouts, Ramulator traces) are refused when switched
on rather than silently ignored.
"""

from __future__ import annotations

import configparser
from dataclasses import dataclass
from pathlib import Path

from stationary.errors import StationaryError
from stationary.schema import MAX_INT, int_text, nearest, short_repr
from stationary.yamlio import read_text

DATAFLOWS = ("os", "ws", "is")
MAX_CFG_BYTES = 1 << 20  # a SCALE-Sim config is a few hundred bytes
MAX_ARRAY_DIM = 1 << 16  # rows or columns of the array (the model allocates per-row / per-column arrays)
MAX_SRAM_KB = MAX_INT >> 10

# Every key SCALE-Sim v1-v3 reads, per section (configparser folds case; these are for messages).
KNOWN_KEYS = {
    "general": ("run_name",),
    "architecture_presets": ("ArrayHeight", "ArrayWidth", "IfmapSramSzkB", "FilterSramSzkB", "OfmapSramSzkB",
                             "IfmapOffset", "FilterOffset", "OfmapOffset", "Bandwidth", "Dataflow", "MemoryBanks",
                             "ReadRequestBuffer", "WriteRequestBuffer"),
    "layout": ("IfmapCustomLayout", "IfmapSRAMBankBandwidth", "IfmapSRAMBankNum", "IfmapSRAMBankPort",
               "FilterCustomLayout", "FilterSRAMBankBandwidth", "FilterSRAMBankNum", "FilterSRAMBankPort"),
    "sparsity": ("SparsitySupport", "SparseRep", "OptimizedMapping", "BlockSize", "RandomNumberGeneratorSeed",
                 "NonZeroElems"),
    "run_presets": ("InterfaceBandwidth", "UseRamulatorTrace"),
    "network_presets": ("TopologyCsvLoc",),
}
# Switches whose `true` changes SCALE-Sim's numbers in ways this model does not reproduce.
UNMODELLED_SWITCHES = (("sparsity", "SparsitySupport"), ("layout", "IfmapCustomLayout"),
                       ("layout", "FilterCustomLayout"), ("run_presets", "UseRamulatorTrace"))
# Whole numbers SCALE-Sim reads that this model does not use: still checked, so a typo is not hidden.
OTHER_COUNTS = (("architecture_presets", "IfmapOffset", 0), ("architecture_presets", "FilterOffset", 0),
                ("architecture_presets", "OfmapOffset", 0), ("architecture_presets", "MemoryBanks", 1),
                ("architecture_presets", "ReadRequestBuffer", 1), ("architecture_presets", "WriteRequestBuffer", 1))


@dataclass(frozen=True)
class SystolicConfig:
    """An R x C systolic array with double-buffered ifmap/filter/ofmap SRAMs (sizes in kB, 1-byte words)."""

    array_rows: int = 32
    array_cols: int = 32
    ifmap_sram_kb: int = 64
    filter_sram_kb: int = 64
    ofmap_sram_kb: int = 64
    dataflow: str = "os"
    bandwidth_mode: str = "CALC"  # CALC: SCALE-Sim estimates the DRAM bandwidth; USER: words/cycle given
    bandwidth_words_per_cycle: int = 10
    run_name: str = "stationary_systolic"
    source: str = ""

    def __post_init__(self) -> None:
        limits = {"array_rows": MAX_ARRAY_DIM, "array_cols": MAX_ARRAY_DIM, "ifmap_sram_kb": MAX_SRAM_KB,
                  "filter_sram_kb": MAX_SRAM_KB, "ofmap_sram_kb": MAX_SRAM_KB, "bandwidth_words_per_cycle": MAX_INT}
        for name, hi in limits.items():
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= hi:
                raise StationaryError(f"{name} must be an integer in 1..{hi:,}, got {short_repr(v)}",
                                      file=self.source or None, field=name)
        if self.dataflow not in DATAFLOWS:
            raise StationaryError(f"dataflow must be one of {', '.join(DATAFLOWS)}, got {self.dataflow!r}",
                                  file=self.source or None, field="Dataflow")
        if self.bandwidth_mode not in ("CALC", "USER"):
            raise StationaryError(f"InterfaceBandwidth must be CALC or USER, got {self.bandwidth_mode!r}",
                                  file=self.source or None, field="InterfaceBandwidth")

    @property
    def macs_per_cycle(self) -> int:
        return self.array_rows * self.array_cols


_FIELDS = {  # our field -> (section, SCALE-Sim key, upper bound)
    "array_rows": ("architecture_presets", "ArrayHeight", MAX_ARRAY_DIM),
    "array_cols": ("architecture_presets", "ArrayWidth", MAX_ARRAY_DIM),
    "ifmap_sram_kb": ("architecture_presets", "IfmapSramSzkB", MAX_SRAM_KB),
    "filter_sram_kb": ("architecture_presets", "FilterSramSzkB", MAX_SRAM_KB),
    "ofmap_sram_kb": ("architecture_presets", "OfmapSramSzkB", MAX_SRAM_KB),
}


def _check_keys(parser: configparser.ConfigParser, src: str) -> None:
    """Every section and key is one SCALE-Sim reads; else one error naming the nearest."""
    for section in parser.sections():
        if section not in KNOWN_KEYS:
            raise StationaryError(f"unknown section [{section}]{nearest(section, KNOWN_KEYS)}", file=src,
                                  field=section)
        known = {k.lower(): k for k in KNOWN_KEYS[section]}
        for key in parser.options(section):
            if key not in known:
                raise StationaryError(f"unknown key `{key}` in [{section}]{nearest(key, known.values())}",
                                      file=src, field=key)


def _switch(parser: configparser.ConfigParser, section: str, key: str, src: str) -> bool:
    raw = parser.get(section, key, fallback="false").strip().lower()
    if raw not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
        raise StationaryError(f"expected true or false, got {short_repr(raw)}", file=src, field=key)
    return raw in ("true", "1", "yes", "on")


def read_config(path: str | Path, dataflow: str | None = None) -> SystolicConfig:
    """Parse a SCALE-Sim config; every missing or malformed field is one StationaryError naming it."""
    path = Path(path)
    src = str(path)
    if not path.is_file():
        raise StationaryError("config file not found", file=src)
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    try:
        parser.read_string(read_text(path, MAX_CFG_BYTES), source=src)
    except configparser.Error as exc:
        raise StationaryError(f"not a valid .cfg file: {exc.message.splitlines()[0][:200]}", file=src) from None
    _check_keys(parser, src)
    values: dict[str, object] = {}
    for name, (section, key, hi) in _FIELDS.items():
        if not parser.has_option(section, key):
            raise StationaryError(f"missing [{section}] {key}", file=src, field=key)
        values[name] = int_text(parser.get(section, key), src, key, lo=1, hi=hi)
    for section, key, lo in OTHER_COUNTS:
        if parser.has_option(section, key):
            int_text(parser.get(section, key), src, key, lo=lo)
    for section, key in UNMODELLED_SWITCHES:
        if _switch(parser, section, key, src):
            raise StationaryError(f"[{section}] {key} = true is not modelled by stationary's systolic model "
                                  "(its numbers would not match SCALE-Sim's); set it to false", file=src, field=key)
    df = dataflow or (parser.get("architecture_presets", "Dataflow", fallback="") or "").strip().lower()
    if df not in DATAFLOWS:
        raise StationaryError(f"Dataflow must be one of os, ws, is, got {short_repr(df)}", file=src,
                              field="Dataflow")
    mode = parser.get("run_presets", "InterfaceBandwidth", fallback="CALC").strip().upper()
    if mode not in ("CALC", "USER"):
        raise StationaryError(f"InterfaceBandwidth must be CALC or USER, got {short_repr(mode)}", file=src,
                              field="InterfaceBandwidth")
    raw_bw = parser.get("architecture_presets", "Bandwidth", fallback="").strip()
    bandwidths = [int_text(b, src, "Bandwidth") for b in raw_bw.split(",")] if raw_bw else []
    bw = 10
    if mode == "USER":
        if not bandwidths:
            raise StationaryError("USER bandwidth needs an integer Bandwidth", file=src, field="Bandwidth")
        bw = bandwidths[0]
    run_name = parser.get("general", "run_name", fallback=path.stem).strip()
    if len(run_name) > 200:
        raise StationaryError(f"run_name of {len(run_name)} characters (at most 200)", file=src, field="run_name")
    return SystolicConfig(dataflow=df, bandwidth_mode=mode, bandwidth_words_per_cycle=bw, run_name=run_name,
                          source=src, **values)  # type: ignore[arg-type]
