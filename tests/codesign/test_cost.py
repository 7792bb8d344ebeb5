"""Sparsity/precision cost rules, each checked on an explicit mapping on a small arch (dense and sparse Model)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stationary.arch.energy import mac_pj
from stationary.arch.spec import ActionEnergy, Architecture, ComputeUnit, StorageLevel
from stationary.codesign.cost import LayerData, TensorData, layer_cost, mac_pj_mixed, mac_pj_shift, zero_sparsity
from stationary.codesign.dense import dense_result
from stationary.errors import StationaryError
from stationary.mapping.mapping import LevelMapping, Mapping
from stationary.model.evaluate import evaluate
from stationary.model.sparsity import Sparsity
from stationary.workload.layer import conv2d

ARCH = Architecture("small", (
    StorageLevel("DRAM", None, cls="DRAM", energy=ActionEnergy(200.0, 200.0, 200.0)),
    StorageLevel("GLB", 4096, cls="SRAM", energy=ActionEnergy(6.0, 6.0, 6.0, 0.5)),
    StorageLevel("RF", 256, instances=4, mesh_x=4, mesh_y=1, cls="regfile", energy=ActionEnergy(1.0, 1.0, 1.0)),
), ComputeUnit("MAC", 4, 4, 1, energy_pj=1.0, word_bits=16))
LAYER = conv2d("c", 3, 4, 6, 3, padding=1)
NEST = LAYER.loop_nest()
# all temporal loops at the GLB, output channels across the 4 PEs, RFs hold one word of each tensor
MAPPING = Mapping((LevelMapping(), LevelMapping(temporal={"C": 3, "P": 6, "Q": 6, "R": 3, "S": 3},
                                                permutation=("S", "R", "C", "Q", "P"), spatial={"M": 4}),
                   LevelMapping()))
DENSE = evaluate(NEST, ARCH, MAPPING)


def data(wd=1.0, ws=16.0, ad=1.0, as_=16.0, od=1.0, os_=16.0, wb=16, ab=16) -> LayerData:
    return LayerData(TensorData(wd, wb, ws), TensorData(ad, ab, as_), TensorData(od, ab, os_))


@pytest.mark.parametrize("mode", ["none", "gating", "skipping"])
def test_dense_16_bit_data_reproduces_the_dense_result(mode):
    c = layer_cost(NEST, MAPPING, ARCH, data(), mode)
    assert c.energy_pj == pytest.approx(DENSE.energy_pj)
    assert c.cycles == DENSE.cycles
    assert c.level_energy_pj["DRAM"] == pytest.approx(DENSE.level("DRAM").energy_pj)


def test_compressed_weights_scale_dram_and_buffer_traffic_by_stored_bits():
    c = layer_cost(NEST, MAPPING, ARCH, data(wd=0.5, ws=10.0), "none")
    for lv in ("DRAM", "GLB"):
        tensors = DENSE.level(lv).tensors
        expected = (tensors["Weights"].energy_pj * 10 / 16 + tensors["Inputs"].energy_pj
                    + tensors["Outputs"].energy_pj + DENSE.level(lv).leak_energy_pj)
        assert c.level_energy_pj[lv] == pytest.approx(expected)
    assert c.level_energy_pj["RF"] == pytest.approx(DENSE.level("RF").energy_pj)  # RF holds decoded 16-bit words
    assert c.compute_energy_pj == pytest.approx(DENSE.compute_energy_pj)  # "none": zeros are multiplied


def test_gating_saves_energy_not_cycles_and_skipping_saves_both():
    d = data(wd=0.5, ad=0.4)
    gate = layer_cost(NEST, MAPPING, ARCH, d, "gating")
    skip = layer_cost(NEST, MAPPING, ARCH, d, "skipping")
    assert gate.effectual_mac_fraction == pytest.approx(0.2)
    assert gate.compute_energy_pj == pytest.approx(0.2 * DENSE.compute_energy_pj, rel=1e-9)
    assert gate.cycles == DENSE.cycles
    assert skip.cycles == math.ceil(0.2 * DENSE.compute_cycles)  # every level keeps up: compute-bound
    assert skip.energy_pj < gate.energy_pj  # the GLB leaks for fewer cycles
    # the Model's rule: a weight read is gated by a zero input, an input read by a zero weight, a partial-sum
    # read by either; fills and updates are performed (1 pJ per RF access, one word per access)
    rf = DENSE.level("RF").tensors
    expected_rf = sum(math.ceil(rf[t].reads_per_instance * k) * rf[t].utilized_instances + rf[t].fills
                      + rf[t].updates for t, k in (("Weights", 0.4), ("Inputs", 0.5), ("Outputs", 0.2)))
    assert gate.level_energy_pj["RF"] == pytest.approx(expected_rf, rel=1e-9)


@pytest.mark.parametrize("mode", ["gating", "skipping"])
def test_density_one_is_the_dense_rule_in_every_mode(mode):
    """Old == new at density 1: the Model's zero gating changes nothing, so every mode gives what "none" (no
    Model re-cost) gives, with compression and narrow widths applied."""
    d = data(ws=10.0, as_=12.0, os_=9.0, wb=8, ab=8)
    got, none = layer_cost(NEST, MAPPING, ARCH, d, mode), layer_cost(NEST, MAPPING, ARCH, d, "none")
    assert got.cycles == none.cycles
    assert got.energy_pj == pytest.approx(none.energy_pj, rel=1e-9)
    for lv, e in none.level_energy_pj.items():
        assert got.level_energy_pj[lv] == pytest.approx(e, rel=1e-9)


@pytest.mark.parametrize("mode,action", [("gating", "gate"), ("skipping", "skip")])
def test_zero_gating_is_the_models_sparse_count(mode, action):
    """With uncompressed 16-bit data the co-design cost is the Model's sparse Result: densities in, the register
    file's reads and the MACs gated (or skipped) on zero operands."""
    sp = Sparsity((("Weights", 0.3), ("Inputs", 0.6)), level_zero=tuple(("RF", t, action) for t in
                                                                        ("Weights", "Inputs", "Outputs")),
                  compute_zero=action)
    model = evaluate(NEST, replace(ARCH, sparsity=sp), MAPPING)
    c = layer_cost(NEST, MAPPING, ARCH, data(wd=0.3, ad=0.6), mode)
    assert zero_sparsity(ARCH, data(wd=0.3, ad=0.6), mode) == sp
    assert c.energy_pj == pytest.approx(model.energy_pj, rel=1e-9)
    assert c.cycles == model.cycles
    assert c.compute_energy_pj == pytest.approx(model.compute_energy_pj, rel=1e-9)
    for lv in model.levels:
        assert c.level_energy_pj[lv.name] == pytest.approx(lv.energy_pj, rel=1e-9)
    assert c.energy_pj < DENSE.energy_pj


def test_an_architecture_with_its_own_sparsity_is_refused():
    sparse = replace(ARCH, sparsity=Sparsity((("Inputs", 0.5),)))
    with pytest.raises(StationaryError, match="dense architecture") as e:
        layer_cost(NEST, MAPPING, sparse, data(), "gating")
    assert e.value.field == "arch"


def test_mac_energy_scales_like_horowitz_multiplier_and_adder():
    assert mac_pj_mixed(8, 8) == pytest.approx(mac_pj(8))
    assert mac_pj_mixed(16, 16) == pytest.approx(mac_pj(16))
    c = layer_cost(NEST, MAPPING, ARCH, data(ws=8.0, as_=8.0, os_=8.0, wb=8, ab=8), "none")
    assert c.compute_energy_pj == pytest.approx(DENSE.compute_energy_pj * mac_pj(8) / mac_pj(16))
    assert c.level_energy_pj["RF"] < DENSE.level("RF").energy_pj
    # 4-bit weights x 8-bit activations: multiplier 4*8/64 of an 8x8 one, adder as wide as the wider operand
    assert mac_pj_mixed(4, 8) == pytest.approx(0.2 * 0.5 + 0.03)


@settings(max_examples=40, deadline=None)
@given(st.floats(0.05, 1.0), st.floats(0.05, 1.0), st.floats(0.05, 1.0), st.sampled_from(["none", "gating",
                                                                                        "skipping"]))
def test_energy_monotone_in_density(d1, d2, ad, mode):
    lo, hi = sorted((d1, d2))
    e_lo = layer_cost(NEST, MAPPING, ARCH, data(wd=lo, ws=16 * lo + 1, ad=ad), mode).energy_pj
    e_hi = layer_cost(NEST, MAPPING, ARCH, data(wd=hi, ws=16 * hi + 1, ad=ad), mode).energy_pj
    assert e_lo <= e_hi + 1e-6


def test_bad_densities_and_widths_are_clear_errors():
    with pytest.raises(StationaryError, match="density"):
        TensorData(1.5, 8, 8.0)
    with pytest.raises(StationaryError, match="1..16"):
        TensorData.dense(17)


def test_dense_result_is_the_mappers_best_and_conserves_macs():
    r = dense_result(LAYER, ARCH)
    assert r.macs == LAYER.macs
    assert r.energy_pj <= DENSE.energy_pj * (1 + 1e-9)  # no worse than the hand-written mapping
    assert dense_result(conv2d("other_name", 3, 4, 6, 3, padding=1), ARCH) is r  # one search per shape


def test_an_unmappable_layer_is_named_in_the_error():
    rf_only = Architecture("rf_only", (
        StorageLevel("DRAM", None, cls="DRAM"),
        StorageLevel("RF", 1, cls="regfile", keep_always=frozenset({"Weights", "Inputs", "Outputs"})),
    ), ComputeUnit("MAC", 1, 1, 1, energy_pj=1.0, word_bits=16))
    with pytest.raises(StationaryError, match="layer conv7: no valid mapping of this layer on rf_only"):
        dense_result(conv2d("conv7", 3, 4, 6, 3), rf_only)


def test_offchip_size_scales_only_the_outermost_level():
    d = LayerData(TensorData(1.0, 16, 8.0, offchip_bits_per_element=4.0), TensorData.dense(16), TensorData.dense(16))
    c = layer_cost(NEST, MAPPING, ARCH, d, "none")
    w = {lv: DENSE.level(lv).tensors["Weights"].energy_pj for lv in ("DRAM", "GLB")}
    rest = {lv: DENSE.level(lv).energy_pj - w[lv] for lv in ("DRAM", "GLB")}
    assert c.level_energy_pj["DRAM"] == pytest.approx(rest["DRAM"] + w["DRAM"] * 4 / 16)  # Huffman off chip
    assert c.level_energy_pj["GLB"] == pytest.approx(rest["GLB"] + w["GLB"] * 8 / 16)  # indices on chip


def test_log_weights_cost_a_shift_add_and_a_scale_one_multiply_per_output():
    add = 0.03 / 8  # Horowitz 8-bit add, per bit
    assert mac_pj_shift(4, 8) == pytest.approx(2 * add * (8 + 6))  # shifter + adder of 14 bits
    assert mac_pj_shift(8, 16) == pytest.approx(2 * add * 32)  # capped at a 32-bit accumulator
    assert mac_pj_shift(4, 8, log_acts=True) == pytest.approx(2 * add * 14 + add * 4)  # + exponent adder
    assert mac_pj_shift(4, 8) < mac_pj_mixed(4, 8)  # cheaper than the multiplier it replaces
    base = LayerData(TensorData.dense(4), TensorData.dense(8), TensorData.dense(8), weight_code="log")
    c = layer_cost(NEST, MAPPING, ARCH, base, "none")
    assert c.compute_energy_pj == pytest.approx(DENSE.compute_energy_pj * mac_pj_shift(4, 8) / mac_pj_mixed(16, 16))
    scaled = LayerData(base.weights, base.inputs, base.outputs, weight_code="log_scaled",
                       rescale_multiplies=LAYER.output_activations)
    c2 = layer_cost(NEST, MAPPING, ARCH, scaled, "none")
    assert c2.compute_energy_pj - c.compute_energy_pj == pytest.approx(LAYER.output_activations * 1.0)  # 1 pJ MAC


def test_codebook_weights_pay_one_lookup_per_weight_entering_the_register_files():
    d = LayerData(TensorData(1.0, 16, 4.0), TensorData.dense(16), TensorData.dense(16), weight_code="kmeans")
    c = layer_cost(NEST, MAPPING, ARCH, d, "none")
    fills = DENSE.level("RF").tensors["Weights"].fills
    assert fills > 0
    assert c.decode_energy_pj == pytest.approx(fills * 1.0)  # the RF's 1 pJ read per lookup
    plain = layer_cost(NEST, MAPPING, ARCH,
                       LayerData(TensorData(1.0, 16, 4.0), TensorData.dense(16), TensorData.dense(16)), "none")
    assert c.energy_pj == pytest.approx(plain.energy_pj + c.decode_energy_pj)
    with pytest.raises(StationaryError, match="unknown weight code"):
        LayerData(d.weights, d.inputs, d.outputs, weight_code="huff")
