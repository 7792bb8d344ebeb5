"""The near-data presets load from their components and evaluate with hand mappings."""

from __future__ import annotations

import pytest

from stationary.arch.load import load_arch, preset_names
from stationary.arch.native import arch_from_native
from stationary.errors import StationaryError
from stationary.mapping.mapping import LevelMapping, Mapping
from stationary.model.evaluate import evaluate
from stationary.workload.loopnest import LoopNest
from stationary.workload.zoo import get_model


def test_presets_are_listed_and_built_from_components() -> None:
    assert {"edram_buffer", "tetris_3d", "reram_crossbar"} <= set(preset_names())
    base, ed = load_arch("eyeriss"), load_arch("edram_buffer")
    gb, egb = base.levels[1], ed.levels[1]
    assert egb.size_words == 3 * gb.size_words  # 3x the capacity ...
    assert egb.area_um2 == pytest.approx(gb.area_um2)  # ... in the same area
    assert egb.energy.leak_pj > gb.energy.leak_pj  # refresh on top of the idle power
    tetris = load_arch("tetris_3d")
    assert tetris.levels[0].energy.read_pj < base.levels[0].energy.read_pj / 5
    assert tetris.levels[1].instances == 16 and tetris.compute.instances == 16 * base.compute.instances
    xbar = load_arch("reram_crossbar")
    assert [lv.name for lv in xbar.levels] == ["DRAM", "GlobalBuffer", "InputDAC", "OutputADC", "Crossbar"]
    assert xbar.fanout(3) == (1, 128)  # a column's 128 rows reduce into one ADC conversion
    assert xbar.fanout(2) == (16, 1)  # an input is multicast along its row to 16 weight columns


def _tiny_conv() -> LoopNest:
    return get_model("lenet5").mac_layers()[1].loop_nest()  # 6 -> 16 channels, 5x5, 10x10 outputs


def test_crossbar_column_reduction_is_one_adc_update() -> None:
    nest = _tiny_conv()
    arch = load_arch("reram_crossbar")
    b = nest.bounds
    names = frozenset({"Weights", "Inputs", "Outputs"})

    def lm(keep: set[str], **kw: object) -> LevelMapping:
        return LevelMapping(keep=frozenset(keep), bypass=names - keep, **kw)  # type: ignore[arg-type]

    mapping = Mapping((
        lm({"Weights", "Inputs", "Outputs"}, temporal={"P": b["P"], "Q": b["Q"], "S": 5}, permutation=("Q", "P", "S")),
        lm({"Inputs", "Outputs"}),
        lm({"Inputs"}, spatial={"M": 16}, spatial_permutation=("M",), split=1),
        lm({"Outputs"}, spatial={"C": 6, "R": 5}, spatial_permutation=("C", "R"), split=0),
        lm({"Weights"}),
    ))
    r = evaluate(nest, arch, mapping)
    adc = r.level("OutputADC").tensors["Outputs"]
    outputs = b["M"] * b["P"] * b["Q"]
    # 30 rows (C x R) reduce in the column: one update per output per S step, not one per MAC
    assert adc.updates == outputs * 5
    assert r.macs == outputs * 6 * 25
    dac = r.level("InputDAC").tensors["Inputs"]
    assert dac.reads == r.macs // 16  # multicast along the row to the 16 M columns
    cells = r.level("Crossbar").tensors["Weights"]
    assert cells.fills == 16 * 6 * 25  # every weight programmed once: weights stay in the cells


def test_bad_component_specs_name_the_field(tmp_path) -> None:
    spec = {"name": "x", "crossbar": {"rows": 128, "cols": 4, "cell_bits": 2},
            "compute": {"component": {"type": "crossbar"}},
            "levels": [{"name": "DRAM", "kind": "DRAM"}]}
    with pytest.raises(StationaryError) as exc:
        arch_from_native(spec, "x.yaml")
    assert exc.value.field == "compute.cols" and exc.value.file == "x.yaml"
    spec["crossbar"] = {"rows": 256, "adc_bits": 8}
    with pytest.raises(StationaryError) as exc:
        arch_from_native(spec, "x.yaml")
    assert exc.value.field == "compute.adc_bits"
    spec["crossbar"] = {"rows": 128, "bogus": 1}
    with pytest.raises(StationaryError) as exc:
        arch_from_native(spec, "x.yaml")
    assert "bogus" in str(exc.value)
    bad_level = {"name": "x", "compute": {"mesh_x": 1},
                 "levels": [{"name": "B", "component": {"type": "sram"}}]}
    with pytest.raises(StationaryError) as exc:
        arch_from_native(bad_level, "x.yaml")
    assert exc.value.field == "levels[0].component"
