"""Sweep spec files and `--vary` values are strict: a bad value is one error naming the field, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from stationary.errors import StationaryError
from stationary.sweep.params import load_native_spec, varied_arch
from stationary.sweep.spec import SweepSpec, load_sweep_spec, parse_vary


@pytest.mark.parametrize("body, field", [
    ("networks: [lenet5]\nseed: x\n", "seed"),
    ("networks: [lenet5]\nseed: -1\n", "seed"),
    ("networks: [lenet5]\nbudget: 2.5\n", "budget"),
    ("networks: [lenet5]\nbudget: true\n", "budget"),
    ("networks: [lenet5]\nbatch: 0\n", "batch"),
    ("networks: []\n", "networks"),
    ("networks: [lenet5]\nnetwork: [x]\n", "network"),
    ("networks: [lenet5]\nvary: {pe_rows: [.nan]}\n", "vary.pe_rows[0]"),
    ("networks: [lenet5]\nvary: {pe_rows: [.inf]}\n", "vary.pe_rows[0]"),
    ("networks: [lenet5]\nvary: {pe_rows: [true]}\n", "vary.pe_rows[0]"),
    ("networks: [lenet5]\nvary: {pe_rows: ['8']}\n", "vary.pe_rows[0]"),
    ("networks: [lenet5]\nvary: {pe_rows: [2.5]}\n", "vary.pe_rows"),
    ("networks: [lenet5]\nvary: {pe_rows: [4000000]}\n", "vary.pe_rows"),
    ("networks: [lenet5]\nvary: {glb_kb: [1e300]}\n", "vary.glb_kb"),
    ("networks: [lenet5]\nvary: [pe_rows]\n", "vary"),
])
def test_bad_sweep_spec_values_name_the_field(tmp_path: Path, body: str, field: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(body)
    with pytest.raises(StationaryError) as exc:
        load_sweep_spec(path)
    assert exc.value.file == str(path) and exc.value.field == field


@pytest.mark.parametrize("item", ["pe_rows=nan", "pe_rows=inf", "pe_rows=-inf", "pe_rows=1e400", "pe_rows=0x10",
                                  "pe_rows=1_0", "glb_kb=\uff16\uff14", "pe_rows="])
def test_bad_vary_values_are_one_error(item: str) -> None:
    with pytest.raises(StationaryError) as exc:
        spec = SweepSpec("eyeriss", ("lenet5",), vary=parse_vary([item]))
        spec.points()
    assert exc.value.field == "--vary"


def test_vary_values_and_keys() -> None:
    assert parse_vary(["pe_rows=8,12", "glb_kb=64.5,1e3"]) == (("pe_rows", (8, 12)), ("glb_kb", (64.5, 1000)))
    with pytest.raises(StationaryError, match=r"did you mean `pe_rows`"):
        parse_vary(["pe_rowz=8"])
    with pytest.raises(StationaryError, match="whole number"):
        SweepSpec("eyeriss", ("lenet5",), vary=parse_vary(["pe_rows=2.5"]))


def test_a_sweep_validates_its_base_architecture(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("name: a\ncompute: {mesh_x: 2}\nlevels:\n  - {name: DRAM, kind: DRAM}\n"
                    "  - {name: B, size_KB: 8}\n")
    with pytest.raises(StationaryError, match="size_KB") as exc:
        load_native_spec(str(path))
    assert exc.value.file == str(path)


def test_component_sized_levels_are_not_resized_silently() -> None:
    data, file = load_native_spec("edram_buffer")
    with pytest.raises(StationaryError, match="built by a component"):
        varied_arch(data, {"glb_kb": 64}, file)
