"""One energy table per source: arch/energy.py states Horowitz 2014 and the survey once; the native specs and
the systolic model both take their numbers from it; storage kinds are one closed vocabulary."""

from __future__ import annotations

import math
from typing import get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stationary.arch import energy as tables
from stationary.arch.native import arch_from_native
from stationary.arch.native_spec import Kind
from stationary.arch.spec import StorageKind
from stationary.errors import StationaryError
from stationary.model.costing import UpdateEnergy, check_update_energy
from stationary.systolic import SystolicConfig, SystolicProblem, simulate_layer
from stationary.systolic.energy import WORD_BITS, EnergyTable, horowitz45

KB = 1024


def test_horowitz_points_are_the_papers() -> None:
    for size, pj in ((8 * KB, 10.0), (32 * KB, 20.0), (1024 * KB, 100.0)):  # 64-bit reads, ISSCC 2014
        assert tables.sram_read_pj(size, 64) == pytest.approx(pj, rel=1e-9)
    assert tables.sram_read_pj(8 * KB, 8) == pytest.approx(10.0 / 8, rel=1e-9)  # linear in access width
    assert tables.sram_read_pj(512, 64) == pytest.approx(2.5, rel=1e-9)  # 0.5 kB RF: the 8->32 kB slope (0.5)
    assert tables.mac_pj(8) == pytest.approx(0.2 + 0.03, rel=1e-9)
    assert tables.storage_energy("horowitz45", StorageKind.DRAM, None, 32).read_pj == pytest.approx(640.0, rel=1e-9)


@settings(max_examples=100, deadline=None)
@given(st.floats(64, 1 << 30), st.floats(1.01, 100))
def test_sram_energy_grows_with_capacity_slower_than_linearly(size: float, factor: float) -> None:
    small, big = tables.sram_read_pj(size, 64), tables.sram_read_pj(size * factor, 64)
    assert small < big < small * factor


@pytest.mark.parametrize("kb", [1, 8, 64, 100, 1024])
def test_systolic_default_is_the_native_horowitz_table(kb: int) -> None:
    cfg = SystolicConfig(ifmap_sram_kb=kb, filter_sram_kb=2 * kb, ofmap_sram_kb=4 * kb)
    t = horowitz45(cfg)
    for k, pj in ((kb, t.ifmap_sram_word_pj), (2 * kb, t.filter_sram_word_pj), (4 * kb, t.ofmap_sram_word_pj)):
        native = tables.storage_energy("horowitz45", StorageKind.BUFFER, k * KB, WORD_BITS)
        assert pj == pytest.approx(native.read_pj, rel=1e-9) and native.write_pj == native.read_pj
    assert t.dram_word_pj == pytest.approx(
        tables.storage_energy("horowitz45", StorageKind.DRAM, None, WORD_BITS).read_pj, rel=1e-9)
    assert t.mac_pj == pytest.approx(tables.compute_energy("horowitz45", WORD_BITS), rel=1e-9)


def test_a_native_byte_buffer_and_a_systolic_sram_cost_the_same() -> None:
    arch = arch_from_native({"name": "bytes", "word_bits": WORD_BITS, "energy_table": "horowitz45",
                           "compute": {"name": "MAC", "mesh_x": 4, "mesh_y": 4},
                           "levels": [{"name": "DRAM", "kind": "DRAM"},
                                      {"name": "SRAM", "kind": "buffer", "size_kb": 64}]})
    t = horowitz45(SystolicConfig(ifmap_sram_kb=64))
    assert arch.levels[1].energy.read_pj == pytest.approx(t.ifmap_sram_word_pj, rel=1e-9)
    assert arch.levels[0].energy.read_pj == pytest.approx(t.dram_word_pj, rel=1e-9)
    assert arch.compute.energy_pj == pytest.approx(t.mac_pj, rel=1e-9)
    assert (arch.levels[0].cls, arch.levels[1].cls) == ("DRAM", "SRAM")


def test_systolic_energy_is_the_counts_times_the_shared_table() -> None:
    cfg = SystolicConfig(array_rows=4, array_cols=4, ifmap_sram_kb=8, filter_sram_kb=32, ofmap_sram_kb=1024)
    r = simulate_layer(SystolicProblem("g", 10, 6, 1, 6, 1, 5), cfg)
    sram = {kb: tables.sram_read_pj(kb * KB, 8) for kb in (8, 32, 1024)}
    assert r.energy_sram_pj == pytest.approx(r.sram_ifmap_reads * sram[8] + r.sram_filter_reads * sram[32]
                                             + r.sram_ofmap_writes * sram[1024], rel=1e-9)
    dram = r.dram_ifmap_reads + r.dram_filter_reads + r.dram_ofmap_writes
    assert r.energy_dram_pj == pytest.approx(dram * tables.HOROWITZ_DRAM_PJ_PER_BIT * 8, rel=1e-9)
    assert r.energy_mac_pj == pytest.approx(r.macs * tables.mac_pj(8), rel=1e-9)


@pytest.mark.parametrize("bad", [math.inf, -1.0, math.nan, 1e13, True])
def test_a_systolic_table_refuses_an_impossible_energy(bad: float) -> None:
    with pytest.raises(StationaryError, match="finite number of pJ") as info:
        EnergyTable(mac_pj=0.2, ifmap_sram_word_pj=1.0, filter_sram_word_pj=1.0, ofmap_sram_word_pj=bad,
                    dram_word_pj=100.0)
    assert info.value.field == "ofmap_sram_word_pj"


def test_storage_kinds_are_one_vocabulary_equal_to_their_yaml_strings() -> None:
    assert [str(k) for k in StorageKind] == ["DRAM", "buffer", "RF"]
    assert set(get_args(Kind)) == set(StorageKind)  # the spec schema accepts exactly the kinds
    assert StorageKind.parse("RF") is StorageKind.RF and StorageKind.RF == "RF"
    assert tables.SURVEY_NORMALIZED["buffer"] == tables.SURVEY_NORMALIZED[StorageKind.BUFFER] == 6.0
    for table in tables.TABLES:
        assert tables.storage_energy(table, "RF", 512, 16) == tables.storage_energy(table, StorageKind.RF, 512, 16)
    with pytest.raises(StationaryError, match="unknown storage kind 'SRAM' \\(DRAM, buffer, RF\\)") as info:
        tables.storage_energy("survey", "SRAM", 1024, 16)
    assert info.value.field == "kind"


def test_a_spec_with_an_unknown_kind_names_the_field_and_the_kinds() -> None:
    doc = {"name": "x", "compute": {"name": "MAC"}, "levels": [{"name": "DRAM", "kind": "DRAM"},
                                                              {"name": "B", "kind": "sram", "size_kb": 1}]}
    with pytest.raises(StationaryError, match="expected one of DRAM, buffer, RF") as info:
        arch_from_native(doc)
    assert info.value.field == "levels[1].kind"


def test_update_energy_is_a_closed_vocabulary() -> None:
    assert check_update_energy("write") is UpdateEnergy.WRITE and UpdateEnergy.UPDATE == "update"
    with pytest.raises(StationaryError, match="choose one of update, write") as info:
        check_update_energy("fill")
    assert info.value.field == "update_energy"
