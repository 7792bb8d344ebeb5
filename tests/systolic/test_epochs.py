"""The fast exact DRAM path (epochs.py) against the full-stream replay (traffic.py) on random small layers."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from stationary.systolic import SystolicConfig, SystolicProblem, epochs, simulate_layer, traffic


@st.composite
def problems(draw):
    r, s = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    h = draw(st.integers(dh * (r - 1) + 1, 30))
    w = draw(st.integers(dw * (s - 1) + 1, 30))
    return SystolicProblem("p", h, w, r, s, draw(st.integers(1, 12)), draw(st.integers(1, 48)),
                           draw(st.integers(1, 3)), draw(st.integers(1, 3)), batch=draw(st.integers(1, 2)),
                           groups=draw(st.integers(1, 3)), dilation_h=dh, dilation_w=dw)


configs = st.builds(SystolicConfig, array_rows=st.integers(1, 12), array_cols=st.integers(1, 12),
                    ifmap_sram_kb=st.integers(1, 3), filter_sram_kb=st.integers(1, 3),
                    ofmap_sram_kb=st.integers(1, 3), dataflow=st.sampled_from(["os", "ws", "is"]))


@settings(max_examples=150, deadline=None)
@given(problems(), configs, st.sampled_from(["ifmap", "filter"]))
def test_fast_read_traffic_equals_replay(p, cfg, operand):
    kb = cfg.ifmap_sram_kb if operand == "ifmap" else cfg.filter_sram_kb
    a, c = traffic.read_stream(p, cfg, operand)
    assert epochs.operand_read_traffic(p, cfg, operand) == traffic.read_traffic(a, c, kb)


@settings(max_examples=40, deadline=None)
@given(problems(), configs)
def test_exact_mode_equals_replay_mode(p, cfg):
    fast, replay = simulate_layer(p, cfg, dram="exact"), simulate_layer(p, cfg, dram="replay")
    assert fast.to_json() | {"dram_mode": ""} == replay.to_json() | {"dram_mode": ""}
