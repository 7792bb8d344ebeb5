"""Each counting rule on a hand-worked example (a 4x4 array, a tiny GEMM)."""

from __future__ import annotations

import pytest

from stationary.systolic import SystolicConfig, SystolicProblem, problem_from_layer, simulate_layer
from stationary.systolic.energy import EnergyTable, horowitz45
from stationary.systolic.timing import compute_counts, fold_geometry
from stationary.workload.layer import conv2d, linear

# GEMM 10 x 6 (K) times 6 x 5: ifmap rows = ofmap px = 10, window K = 6, filters M = 5
GEMM = SystolicProblem("g", ifmap_h=10, ifmap_w=6, filter_h=1, filter_w=6, channels=1, num_filters=5)


def cfg(df: str) -> SystolicConfig:
    return SystolicConfig(array_rows=4, array_cols=4, dataflow=df)


def test_gemm_shape():
    assert (GEMM.ofmap_px, GEMM.window, GEMM.macs) == (10, 6, 300)


def test_os_folds_and_cycles():
    # OS: Sr = 10 px -> 3 row folds, Sc = 5 filters -> 2 col folds, T = 6; fold = 6 + 4 + 4 - 2 = 12 cycles
    g = fold_geometry(GEMM, cfg("os"))
    assert (g.row_folds, g.col_folds, g.cycles_per_fold) == (3, 2, 12)
    c = compute_counts(GEMM, cfg("os"))
    assert c.compute_cycles == 6 * 12 - 1
    assert c.sram_ifmap_reads == 6 * 10 * 2  # ifmap streamed once per column fold
    assert c.sram_filter_reads == 6 * 5 * 3  # filter streamed once per row fold
    assert c.sram_ofmap_writes == 10 * 5 + 6 * (4 + 4)
    # used PEs per fold: rows (4, 4, 2) x cols (4, 1) -> mean 11.666.../16
    assert c.mapping_efficiency_pct == pytest.approx(100 * (10 / 3) * (5 / 2) / 16)


def test_ws_folds_and_cycles():
    # WS: Sr = K = 6 -> 2 row folds, Sc = 5 -> 2 col folds, T = 10 px; fold = 2*4 + 4 + 10 - 2 = 20
    c = compute_counts(GEMM, cfg("ws"))
    assert c.compute_cycles == 4 * 20 - 1
    assert (c.sram_ifmap_reads, c.sram_filter_reads, c.sram_ofmap_writes) == (10 * 6 * 2, 30, 10 * 5 * 2)
    assert c.compute_util_pct == pytest.approx(100 * (6 / 2) * (5 / 2) * 10 / (16 * (20 + 3)))


def test_is_folds_and_cycles():
    # IS: Sr = K = 6 -> 2, Sc = 10 px -> 3, T = 5 filters; fold = 8 + 4 + 5 - 2 = 15
    c = compute_counts(GEMM, cfg("is"))
    assert c.compute_cycles == 6 * 15 - 1
    assert (c.sram_ifmap_reads, c.sram_filter_reads, c.sram_ofmap_writes) == (60, 5 * 6 * 3, 5 * 10 * 2)


def test_small_operands_are_read_from_dram_once():
    # ... and every ofmap word written once per row fold (WS/IS write partial sums: K = 6 takes 2 folds)
    for df, ofmap_words in (("os", 50), ("ws", 100), ("is", 100)):
        r = simulate_layer(GEMM, cfg(df))
        assert (r.dram_ifmap_reads, r.dram_filter_reads, r.dram_ofmap_writes) == (60, 30, ofmap_words)
        assert r.stall_cycles == 0


def test_ceil_output_rule_and_invalid_window_reads():
    # SCALE-Sim: ofmap = ceil((H - R + s) / s); the overhanging windows read nothing from DRAM
    p = SystolicProblem("c", 6, 6, 3, 3, 1, 1, 2, 2)
    assert (p.ofmap_h, p.ofmap_w) == (3, 3)
    r = simulate_layer(p, cfg("os"))
    assert r.dram_ifmap_reads == 36


def test_layer_conversion_keeps_true_output_and_padding():
    layer = conv2d("c", 3, 8, 7, 3, stride=2, padding=1)
    p = problem_from_layer(layer)
    assert (p.ifmap_h, p.ofmap_h, p.window) == (9, layer.P, 27)
    assert p.macs == layer.macs
    fc = problem_from_layer(linear("fc", 16, 4, batch=3))
    assert fc.macs == 3 * 16 * 4


def test_depthwise_groups_scale_counts():
    dw = conv2d("dw", 8, 8, 6, 3, groups=8, padding=1)
    p = problem_from_layer(dw)
    one = simulate_layer(SystolicProblem("one", 8, 8, 3, 3, 1, 1, ofmap_h=6, ofmap_w=6), cfg("ws"))
    all_ = simulate_layer(p, cfg("ws"))
    assert all_.macs == dw.macs == 8 * one.macs
    assert all_.sram_ifmap_reads == 8 * one.sram_ifmap_reads
    assert all_.total_cycles == 8 * one.total_cycles  # true cycle counts add up (SCALE-Sim's: 8 (n + 1) - 1)


def test_energy_is_counts_times_table():
    t = EnergyTable(mac_pj=1.0, ifmap_sram_word_pj=2.0, filter_sram_word_pj=3.0, ofmap_sram_word_pj=5.0,
                    dram_word_pj=100.0)
    r = simulate_layer(GEMM, cfg("os"), energy=t)
    sram = r.sram_ifmap_reads * 2.0 + r.sram_filter_reads * 3.0 + r.sram_ofmap_writes * 5.0
    dram = r.dram_ifmap_reads + r.dram_filter_reads + r.dram_ofmap_writes
    assert r.energy_sram_pj == pytest.approx(sram, rel=1e-9)
    assert r.energy_total_pj == pytest.approx(300 * 1.0 + sram + dram * 100.0, rel=1e-9)


def test_default_energy_prices_each_sram_at_its_own_size():
    small_ifmap = SystolicConfig(array_rows=4, array_cols=4, dataflow="os", ifmap_sram_kb=8, filter_sram_kb=64,
                                 ofmap_sram_kb=1024)
    r = simulate_layer(GEMM, small_ifmap)
    assert r == simulate_layer(GEMM, small_ifmap, energy=horowitz45(small_ifmap))
    t = horowitz45(small_ifmap)
    assert t.ifmap_sram_word_pj < t.filter_sram_word_pj < t.ofmap_sram_word_pj
    assert r.energy_mac_pj == pytest.approx(300 * t.mac_pj, rel=1e-9)


def test_one_pe_array_takes_at_least_one_cycle_per_mac():
    # before: a 1 x 1 OS array reported 0 cycles for a 1-MAC layer and 102.9 % utilization for 36 MACs
    for df in ("os", "ws", "is"):
        one_pe = SystolicConfig(array_rows=1, array_cols=1, dataflow=df)
        for p in (SystolicProblem("1", 1, 1, 1, 1, 1, 1), SystolicProblem("36", 3, 3, 1, 1, 2, 2)):
            r = simulate_layer(p, one_pe)
            assert r.total_cycles >= r.macs >= 1
            assert 0 < r.overall_util_pct <= 100
            if df == "os":  # one MAC per cycle, nothing else: exactly MACs cycles, 100 %
                assert (r.total_cycles, r.overall_util_pct) == (r.macs, 100.0)
                assert r.scalesim_total_cycles == r.macs - 1  # SCALE-Sim's own count (last cycle's index)
