"""Scaling rules of the near-data component models, and the errors they give for impossible specs."""

from __future__ import annotations

import pytest

from stationary.arch.components import crossbar as xb
from stationary.arch.components import edram, stacked_dram
from stationary.arch.energy import SRAM_UM2_PER_BIT, sram_read_pj
from stationary.errors import StationaryError


def test_edram_refresh_is_proportional_to_capacity() -> None:
    small = edram.edram_refresh_pj_per_cycle(64 * 1024, clock_mhz=200)
    assert edram.edram_refresh_pj_per_cycle(256 * 1024, clock_mhz=200) == pytest.approx(4 * small)


def test_edram_refresh_by_hand() -> None:
    # 1 kB = 8,192 bits x 30 fJ, once per 40 us; one cycle at 100 MHz is 0.01 us -> 8192*0.03 pJ/4000
    assert edram.edram_refresh_pj_per_cycle(1024, clock_mhz=100) == pytest.approx(8192 * 0.03 / 4000)
    # a longer retention time refreshes less often
    assert edram.edram_refresh_pj_per_cycle(1024, 100, retention_us=80) == pytest.approx(8192 * 0.03 / 8000)


def test_edram_is_denser_at_equal_area() -> None:
    size = edram.edram_bytes_at_sram_area(108 * 1024)
    assert size == pytest.approx(3 * 108 * 1024)
    assert edram.edram_area_um2(size) == pytest.approx(108 * 1024 * 8 * SRAM_UM2_PER_BIT)


def test_edram_access_scales_a_reference_sram_by_capacity() -> None:
    e = edram.edram_access_pj(3 * 108 * 1024, 64, reference=(108 * 1024, 60.0))
    ratio = sram_read_pj(3 * 108 * 1024, 64) / sram_read_pj(108 * 1024, 64)
    assert e == pytest.approx(60.0 * ratio)
    assert e > 60.0  # a bigger array costs more per access


def test_edram_rejects_non_positive_sizes() -> None:
    with pytest.raises(StationaryError) as exc:
        edram.edram_refresh_pj_per_cycle(0, 100)
    assert exc.value.field == "size_kb"


def test_vault_is_cheaper_per_bit_than_ddr_and_scales_with_width() -> None:
    assert stacked_dram.memory_pj_per_bit("hmc_vault") < stacked_dram.memory_pj_per_bit("hbm2") \
        < stacked_dram.memory_pj_per_bit("hmc_external") < stacked_dram.memory_pj_per_bit("ddr3")
    e16 = stacked_dram.dram_energy("hmc_vault", 16)
    assert e16.read_pj == pytest.approx(3.7 * 16)
    assert stacked_dram.dram_energy("hmc_vault", 64).read_pj == pytest.approx(4 * e16.read_pj)


def test_stack_bandwidth_in_words_per_cycle() -> None:
    # 16 vaults x 10 GB/s at 200 MHz and 16-bit words: 160e9 B/s / 2 B / 200e6 = 400 words per cycle
    assert stacked_dram.stack_words_per_cycle("hmc_vault", 16, 200, 16) == pytest.approx(400)
    assert stacked_dram.stack_words_per_cycle("hmc_vault", 16, 200, 16) > \
        stacked_dram.stack_words_per_cycle("ddr3", 1, 200, 16) * 10
    with pytest.raises(StationaryError) as exc:
        stacked_dram.memory_pj_per_bit("sdram")
    assert exc.value.field == "memory"


def test_adc_energy_doubles_per_bit() -> None:
    assert xb.adc_energy_pj(8) == pytest.approx(2.0 / 1.2)
    for bits in range(2, 12):
        assert xb.adc_energy_pj(bits + 1) == pytest.approx(2 * xb.adc_energy_pj(bits))
        assert xb.adc_area_um2(bits + 1) == pytest.approx(2 * xb.adc_area_um2(bits))


def test_adc_bits_required() -> None:
    assert xb.adc_bits_required(128, 1, 2) == 9  # 128 * 1 * 3 = 384
    assert xb.adc_bits_required(1, 1, 1) == 1
    assert xb.adc_bits_required(256, 1, 1) == 9  # 256 needs 9 bits
    for rows in (16, 64, 128, 512):
        for d in (1, 2):
            for c in (1, 2, 4):
                need = xb.adc_bits_required(rows, d, c)
                largest = rows * (2**d - 1) * (2**c - 1)
                assert 2 ** (need - 1) <= largest < 2**need


def test_crossbar_slices_and_energy_by_hand() -> None:
    s = xb.CrossbarSpec(rows=128, cols=128, cell_bits=2, dac_bits=1, adc_bits=9, weight_bits=16, input_bits=16)
    assert (s.weight_slices, s.input_slices, s.weights_per_row) == (8, 16, 16)
    assert s.mac_pj() == pytest.approx(16 * 8 * xb.ISAAC_CELL_READ_FJ * 1e-3)
    assert s.dac_energy().read_pj == pytest.approx(16 * xb.ISAAC_DAC_PJ_1BIT)
    conv = 16 * 8 * (xb.adc_energy_pj(9) + 0.03 * 2)
    assert s.adc_energy(16).update_pj == pytest.approx(conv)
    assert s.cell_energy().write_pj == pytest.approx(8 * xb.CELL_WRITE_PJ)


def test_crossbar_area_and_energy_vs_rows_and_cols() -> None:
    base = xb.CrossbarSpec(rows=64, cols=64, adc_bits=8, exact=False)
    taller = xb.CrossbarSpec(rows=128, cols=64, adc_bits=8, exact=False)
    wider = xb.CrossbarSpec(rows=64, cols=128, adc_bits=8, exact=False)
    assert taller.array_area_um2() == pytest.approx(2 * base.array_area_um2())
    assert wider.array_area_um2() == pytest.approx(2 * base.array_area_um2())
    assert taller.dac_area_um2() == pytest.approx(2 * base.dac_area_um2())  # one DAC per row
    assert wider.dac_area_um2() == pytest.approx(base.dac_area_um2())
    assert wider.weights_per_row == 2 * base.weights_per_row
    # an exact column sum over twice the rows needs one more ADC bit: twice the energy per conversion
    assert xb.adc_energy_pj(xb.CrossbarSpec(rows=128).adc_bits) == pytest.approx(2 * xb.adc_energy_pj(8))
    # one conversion serves a whole column, but an exact ADC needs one more bit per doubling of the rows, so
    # at 2x per bit the conversion energy per MAC does not fall with taller arrays (128/32 = 256/64 = ...)
    per_mac = [xb.adc_energy_pj(xb.adc_bits_required(r, 1, 2)) / r for r in (32, 64, 128, 256)]
    assert per_mac == pytest.approx([per_mac[0]] * 4)
    lossy = [xb.adc_energy_pj(8) / r for r in (32, 64, 128, 256)]  # a fixed 8-bit ADC: falls, but loses bits
    assert all(a > b for a, b in zip(lossy, lossy[1:]))


def test_crossbar_errors_name_the_field() -> None:
    with pytest.raises(StationaryError) as exc:
        xb.CrossbarSpec(rows=128, cols=4, cell_bits=2, weight_bits=16)
    assert exc.value.field == "cols" and "too small" in exc.value.message
    with pytest.raises(StationaryError) as exc:
        xb.CrossbarSpec(rows=128, adc_bits=8, exact=True)
    assert exc.value.field == "adc_bits" and "9 bits" in exc.value.message
    lossy = xb.CrossbarSpec(rows=128, adc_bits=6, exact=False)
    assert lossy.adc_lost_bits == 3
    with pytest.raises(StationaryError) as exc:
        xb.CrossbarSpec(dac_bits=0)
    assert exc.value.field == "dac_bits"
