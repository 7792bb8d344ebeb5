"""A SCALE-Sim `.cfg` file as a validated, frozen architecture spec (array, SRAMs, dataflow, bandwidth)."""

from __future__ import annotations

import configparser
from dataclasses import dataclass
from pathlib import Path

from stationary.errors import StationaryError

DATAFLOWS = ("os", "ws", "is")


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
        for name in ("array_rows", "array_cols", "ifmap_sram_kb", "filter_sram_kb", "ofmap_sram_kb",
                     "bandwidth_words_per_cycle"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise StationaryError(f"{name} must be a positive integer, got {v!r}", file=self.source or None,
                                      field=name)
        if self.dataflow not in DATAFLOWS:
            raise StationaryError(f"dataflow must be one of {', '.join(DATAFLOWS)}, got {self.dataflow!r}",
                                  file=self.source or None, field="Dataflow")
        if self.bandwidth_mode not in ("CALC", "USER"):
            raise StationaryError(f"InterfaceBandwidth must be CALC or USER, got {self.bandwidth_mode!r}",
                                  file=self.source or None, field="InterfaceBandwidth")

    @property
    def macs_per_cycle(self) -> int:
        return self.array_rows * self.array_cols


_FIELDS = {  # our field -> (section, SCALE-Sim key)
    "array_rows": ("architecture_presets", "ArrayHeight"),
    "array_cols": ("architecture_presets", "ArrayWidth"),
    "ifmap_sram_kb": ("architecture_presets", "IfmapSramSzkB"),
    "filter_sram_kb": ("architecture_presets", "FilterSramSzkB"),
    "ofmap_sram_kb": ("architecture_presets", "OfmapSramSzkB"),
}


def read_config(path: str | Path, dataflow: str | None = None) -> SystolicConfig:
    """Parse a SCALE-Sim config; every missing or malformed field is one StationaryError naming it."""
    path = Path(path)
    src = str(path)
    if not path.is_file():
        raise StationaryError("config file not found", file=src)
    parser = configparser.ConfigParser()
    try:
        parser.read(path)
    except configparser.Error as exc:
        raise StationaryError(f"not a valid .cfg file: {exc.message.splitlines()[0]}", file=src) from None
    values: dict[str, object] = {}
    for name, (section, key) in _FIELDS.items():
        if not parser.has_option(section, key):
            raise StationaryError(f"missing [{section}] {key}", file=src, field=key)
        raw = parser.get(section, key).strip()
        try:
            values[name] = int(raw)
        except ValueError:
            raise StationaryError(f"expected an integer, got {raw!r}", file=src, field=key) from None
        if values[name] < 1:  # type: ignore[operator]
            raise StationaryError(f"must be >= 1, got {raw}", file=src, field=key)
    df = dataflow or (parser.get("architecture_presets", "Dataflow", fallback="") or "").strip().lower()
    if df not in DATAFLOWS:
        raise StationaryError(f"Dataflow must be one of os, ws, is, got {df!r}", file=src, field="Dataflow")
    mode = parser.get("run_presets", "InterfaceBandwidth", fallback="CALC").strip().upper()
    if mode not in ("CALC", "USER"):
        raise StationaryError(f"InterfaceBandwidth must be CALC or USER, got {mode!r}", file=src,
                              field="InterfaceBandwidth")
    bw = 10
    if mode == "USER":
        raw = parser.get("architecture_presets", "Bandwidth", fallback="").strip()
        try:
            bw = int(raw.split(",")[0])
        except ValueError:
            raise StationaryError(f"USER bandwidth needs an integer Bandwidth, got {raw!r}", file=src,
                                  field="Bandwidth") from None
        if bw < 1:
            raise StationaryError(f"Bandwidth must be >= 1, got {bw}", file=src, field="Bandwidth")
    run_name = parser.get("general", "run_name", fallback=path.stem).strip()
    return SystolicConfig(dataflow=df, bandwidth_mode=mode, bandwidth_words_per_cycle=bw, run_name=run_name,
                          source=src, **values)  # type: ignore[arg-type]
