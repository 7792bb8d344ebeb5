"""Each sweep key's rule for deriving an architecture from a preset, hashing, spec parsing, the Pareto front."""

from __future__ import annotations

from pathlib import Path

import pytest

from stationary.arch import energy as tables
from stationary.arch.load import load_arch
from stationary.errors import StationaryError
from stationary.sweep.engine import pareto_front
from stationary.sweep.params import load_native_spec, varied_arch
from stationary.sweep.spec import SweepSpec, load_sweep_spec, parse_vary


@pytest.fixture(scope="module")
def eyeriss() -> tuple[dict, str]:
    return load_native_spec("eyeriss")


def test_no_change_builds_the_preset(eyeriss: tuple[dict, str]) -> None:
    base = load_arch("eyeriss")
    built = varied_arch(*eyeriss[:1], {}, eyeriss[1])
    assert built.levels == base.levels and built.compute == base.compute


def test_pe_rows_and_cols_move_the_array_and_per_pe_levels(eyeriss: tuple[dict, str]) -> None:
    a = varied_arch(eyeriss[0], {"pe_rows": 8, "pe_cols": 16})
    assert (a.compute.mesh_x, a.compute.mesh_y, a.compute.instances) == (16, 8, 128)
    assert [lv.instances for lv in a.levels] == [1, 1, 128, 128, 128]
    assert a.area_um2 < load_arch("eyeriss").area_um2


def test_glb_kb_resizes_the_buffer_and_scales_its_energy(eyeriss: tuple[dict, str]) -> None:
    a = varied_arch(eyeriss[0], {"glb_kb": 54})
    glb = a.levels[1]
    assert glb.size_bytes == 54 * 1024 - (54 * 1024) % 8  # whole 4-word (8-byte) rows
    ratio = tables.sram_read_pj(54 * 1024, 64) / tables.sram_read_pj(108 * 1024, 64)
    assert glb.energy.read_pj == pytest.approx(60 * ratio) and glb.energy.leak_pj == 150
    assert a.levels[2:] == load_arch("eyeriss").levels[2:]


def test_rf_bytes_splits_in_the_preset_proportions(eyeriss: tuple[dict, str]) -> None:
    a = varied_arch(eyeriss[0], {"rf_bytes": 1040})  # twice the 520 B of 224 + 12 + 24 16-bit words
    assert [lv.depth for lv in a.levels[2:]] == [448, 24, 48]


def test_bits_scales_widths_and_energies(eyeriss: tuple[dict, str]) -> None:
    a = varied_arch(eyeriss[0], {"bits": 8})
    assert {lv.word_bits for lv in a.levels} == {8} and a.compute.word_bits == 8
    assert a.compute.energy_pj == pytest.approx(2.0 * tables.mac_pj(8) / tables.mac_pj(16))
    assert a.levels[0].energy.read_pj == pytest.approx(1840 / 2)
    # a table-derived spec: the loader re-derives MAC energy and area from the new width
    simba, file = load_native_spec("simba_like")
    s = varied_arch(simba, {"bits": 16}, file)
    assert s.compute.energy_pj == pytest.approx(tables.mac_pj(16))
    assert s.levels[4].word_bits == 48  # the 24-bit accumulators of an 8-bit spec
    assert s.compute.area_um2 == pytest.approx(tables.mac_area_um2(16))


def test_bad_values_name_the_key(eyeriss: tuple[dict, str]) -> None:
    with pytest.raises(StationaryError, match="unknown sweep key 'pes'"):
        varied_arch(eyeriss[0], {"pes": 4})
    with pytest.raises(StationaryError, match="pe_rows must be a whole number"):
        varied_arch(eyeriss[0], {"pe_rows": 2.5})
    with pytest.raises(StationaryError, match="expected KEY=V1,V2"):
        parse_vary(["pe_rows"])
    with pytest.raises(StationaryError, match="expected numbers"):
        parse_vary(["pe_rows=a,b"])
    with pytest.raises(StationaryError, match="Timeloop"):
        load_native_spec(str(Path(__file__).parents[1] / "cases" / "timeloop" / "5a" / "arch.yaml"))


def test_point_keys_are_stable_and_depend_on_what_matters() -> None:
    spec = SweepSpec("eyeriss", ("lenet5",), ("rs", "ws"), parse_vary(["pe_rows=8,12", "glb_kb=64"]))
    keys = [p.key for p in spec.points()]
    assert len(keys) == len(set(keys)) == 4
    assert keys == [p.key for p in SweepSpec("eyeriss", ("lenet5",), ("rs", "ws"),
                                             parse_vary(["pe_rows=8,12", "glb_kb=64"])).points()]
    other = SweepSpec("eyeriss", ("lenet5",), ("rs", "ws"), parse_vary(["pe_rows=8,12", "glb_kb=64"]), budget=7)
    assert not set(keys) & {p.key for p in other.points()}
    assert spec.points()[0].params == {"network": "lenet5", "dataflow": "rs", "pe_rows": 8, "glb_kb": 64}


def test_spec_file(tmp_path: Path) -> None:
    f = tmp_path / "s.yaml"
    f.write_text("arch: eyeriss\nnetworks: [lenet5, alexnet]\ndataflows: [rs]\nvary: {pe_rows: [8, 12], "
                 "bits: [8]}\nbudget: 500\n")
    spec = load_sweep_spec(f)
    assert spec.vary == (("pe_rows", (8, 12)), ("bits", (8,))) and spec.budget == 500
    assert len(spec.points()) == 4
    f.write_text("arch: eyeriss\nnetworks: [lenet5]\nvary: {pe_rowz: [8]}\n")
    with pytest.raises(StationaryError, match="s.yaml.*unknown sweep key 'pe_rowz'"):
        load_sweep_spec(f)


def test_pareto_front_by_hand() -> None:
    def rec(key: str, e: float, c: int, a: float, net: str = "n") -> dict:
        return {"key": key, "params": {"network": net}, "energy_pj": e, "cycles": c, "area_mm2": a, "error": None}

    pts = [rec("a", 1, 10, 1), rec("b", 2, 5, 1), rec("c", 2, 10, 1), rec("d", 3, 3, 0.5), rec("e", 1, 10, 2),
           rec("f", 9, 9, 9, net="m"), {"key": "g", "params": {"network": "n"}, "error": "no mapping"}]
    assert [p["key"] for p in pareto_front(pts)] == ["f", "a", "b", "d"]
