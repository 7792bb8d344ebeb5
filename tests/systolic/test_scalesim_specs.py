"""SCALE-Sim cfg and topology readers: bounded, strict whole numbers, unknown keys and unmodelled switches refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from stationary.errors import StationaryError
from stationary.systolic import read_config, read_topology

CFG = Path(__file__).parents[1] / "cases" / "scalesim" / "alexnet_a32_ws_CALC" / "a32_ws_CALC.cfg"
HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"


def cfg_with(tmp_path: Path, old: str, new: str) -> Path:
    text = CFG.read_text()
    assert old in text
    path = tmp_path / "a.cfg"
    path.write_text(text.replace(old, new))
    return path


@pytest.mark.parametrize("old, new, field, match", [
    ("ArrayHeight:    32", "ArrayHieght:    32", "arrayhieght", r"did you mean `ArrayHeight`"),
    ("ArrayWidth:     32", "ArrayWidth: 1000000000", "ArrayWidth", "must be in 1..65,536"),
    ("ArrayWidth:     32", "ArrayWidth: 1_000", "ArrayWidth", "whole number"),
    ("ArrayWidth:     32", "ArrayWidth: \uff13\uff12", "ArrayWidth", "whole number"),  # full-width digits
    ("ArrayWidth:     32", "ArrayWidth: %(x)s", "ArrayWidth", "whole number"),  # no interpolation traceback
    ("IfmapSramSzkB:   64", "IfmapSramSzkB: " + "9" * 5000, "IfmapSramSzkB", "whole number"),
    ("SparsitySupport : false", "SparsitySupport : true", "SparsitySupport", "not modelled"),
    ("IfmapCustomLayout: False", "IfmapCustomLayout: True", "IfmapCustomLayout", "not modelled"),
    ("UseRamulatorTrace: False", "UseRamulatorTrace: maybe", "UseRamulatorTrace", "true or false"),
    ("Bandwidth : 10", "Bandwidth : ten", "Bandwidth", "whole number"),
    ("IfmapOffset:    0", "IfmapOffset: -5", "IfmapOffset", "whole number"),
    ("[layout]", "[layuot]", "layuot", r"did you mean `layout`"),
])
def test_bad_config_values_are_one_error(tmp_path: Path, old: str, new: str, field: str, match: str) -> None:
    path = cfg_with(tmp_path, old, new)
    with pytest.raises(StationaryError, match=match) as exc:
        read_config(path)
    assert exc.value.field == field and exc.value.file == str(path)


def test_config_size_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "big.cfg"
    path.write_text(CFG.read_text() + "#" * (2 << 20))
    with pytest.raises(StationaryError, match="larger than"):
        read_config(path)


def test_the_shipped_config_still_reads() -> None:
    cfg = read_config(CFG)
    assert (cfg.array_rows, cfg.array_cols, cfg.ifmap_sram_kb, cfg.dataflow) == (32, 32, 64, "ws")


@pytest.mark.parametrize("body, match", [
    ("L, 10, 10, 3, 3, 4, 8, +1_0,\n", "whole number"),
    ("L, 10, 10, 3, 3, 4, 8, " + "7" * 5000 + ",\n", "characters exceeds"),
    ("L, 10, 10, 3, 3, 4, 8, 99999999999999999999,\n", "must be in"),
    ("L" * 300 + ", 10, 10, 3, 3, 4, 8, 1,\n", "layer name of 300 characters"),
    ("".join(f"L{i}, 4, 4, 1, 1, 1, 1, 1,\n" for i in range(10_001)), "10,001 layers"),
])
def test_bad_topologies_are_one_error(tmp_path: Path, body: str, match: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(HEADER + body)
    with pytest.raises(StationaryError, match=match) as exc:
        read_topology(path)
    assert exc.value.file == str(path)


def test_topology_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(HEADER + "\nA, 10, 10, 3, 3, 4, 8, 1,\n\n" + "x" * 5000 + "\n")
    with pytest.raises(StationaryError, match="line 5"):
        read_topology(path)
