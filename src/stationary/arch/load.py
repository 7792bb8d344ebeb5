"""`load_arch`: the one entry point for an architecture — a shipped preset name, a native YAML file
(`arch/native.py`) or a Timeloop v0.4 arch YAML with its Accelergy ERT (`arch/timeloop.py`)."""

from __future__ import annotations

from pathlib import Path

from stationary.arch.ert import EnergyTable
from stationary.arch.native import arch_from_native
from stationary.arch.spec import Architecture
from stationary.errors import StationaryError
from stationary.yamlio import load_yaml

PRESET_DIR = Path(__file__).with_name("presets")


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def load_arch(spec: str | Path, ert: str | Path | None = None) -> Architecture:
    """A preset name, a native YAML file, or a Timeloop v0.4 arch YAML (which then needs an ERT)."""
    from stationary.arch.timeloop import arch_from_dict

    text = str(spec)
    if text in preset_names():
        path = PRESET_DIR / f"{text}.yaml"
    else:
        path = Path(text)
        if not path.is_file():
            raise StationaryError(f"no architecture file or preset named {text!r}; presets: "
                                  f"{', '.join(preset_names())}", field="--arch")
    data = load_yaml(path)
    energy = EnergyTable.load(ert) if ert else None
    if isinstance(data, dict) and "architecture" in data:
        if energy is None:
            raise StationaryError("a Timeloop architecture needs its energy table: pass --ert ERT.yaml",
                                  file=str(path))
        return arch_from_dict(data, energy, str(path), name=path.stem)
    return arch_from_native(data, str(path))
