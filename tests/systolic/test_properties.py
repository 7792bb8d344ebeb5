"""Invariants on random layers: MACs, lower bounds on cycles and accesses, exact vs estimate DRAM."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from stationary.systolic import SystolicConfig, SystolicProblem, simulate_layer


@st.composite
def problems(draw):
    r, s = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    h, w = draw(st.integers(r, 12)), draw(st.integers(s, 12))
    return SystolicProblem("p", h, w, r, s, draw(st.integers(1, 6)), draw(st.integers(1, 20)),
                           draw(st.integers(1, 3)), draw(st.integers(1, 3)))


configs = st.builds(SystolicConfig, array_rows=st.integers(1, 9), array_cols=st.integers(1, 9),
                    ifmap_sram_kb=st.integers(1, 4), filter_sram_kb=st.integers(1, 4),
                    ofmap_sram_kb=st.integers(1, 4), dataflow=st.sampled_from(["os", "ws", "is"]))


@settings(max_examples=60, deadline=None)
@given(problems(), configs)
def test_invariants(p, cfg):
    r = simulate_layer(p, cfg)
    k, m, px = p.window, p.num_filters, p.ofmap_px
    assert r.macs == px * m * k
    assert r.total_cycles * cfg.array_rows * cfg.array_cols >= r.macs  # exact integers
    assert 0 < r.overall_util_pct <= 100
    assert r.total_cycles_incl_prefetch >= r.total_cycles
    assert r.scalesim_total_cycles == r.total_cycles - 1  # SCALE-Sim reports the last cycle's index
    assert 0 < r.mapping_efficiency_pct <= 100
    assert 0 < r.compute_util_pct <= 100
    assert r.sram_ifmap_reads >= px * k and r.sram_filter_reads >= k * m
    assert r.sram_ofmap_writes >= px * m
    # DRAM: at least every word touched once, never more than the SRAM was asked for
    assert r.dram_filter_reads >= k * m and r.dram_filter_reads <= r.sram_filter_reads
    assert r.dram_ifmap_reads <= r.sram_ifmap_reads
    assert r.dram_ofmap_writes >= px * m
    assert r.stall_cycles == 0  # CALC mode: SCALE-Sim sizes the bandwidth so nothing stalls


@settings(max_examples=30, deadline=None)
@given(problems(), configs)
def test_deterministic_and_estimate_bounds(p, cfg):
    a, b = simulate_layer(p, cfg), simulate_layer(p, cfg)
    assert a == b
    e = simulate_layer(p, cfg, dram="estimate")
    for f in ("total_cycles", "sram_ifmap_reads", "sram_filter_reads", "sram_ofmap_writes",
              "mapping_efficiency_pct", "sram_ofmap_start_cycle", "sram_ofmap_stop_cycle"):
        assert getattr(e, f) == getattr(a, f)
    # ofmap write-back without replaying the drains: each output once; the replay adds at most
    # line_words - 1 empty slots per drain of half the SRAM
    outputs = e.dram_ofmap_writes
    drains = a.dram_ofmap_writes // (cfg.ofmap_sram_kb * 512) + 2
    assert outputs <= a.dram_ofmap_writes <= outputs + drains * (cfg.array_cols - 1)
    assert e.dram_filter_reads <= e.sram_filter_reads
