"""Work bounded by what a layer computes: a pre-flight check refuses a layer whose DRAM mode would need more
memory than allowed (naming the size and `--dram estimate`), the ofmap buffer needs no per-cycle array,
`estimate` allocates nothing per cycle, and identical layers are computed once."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stationary.errors import StationaryError
from stationary.systolic import SystolicConfig, SystolicProblem, simulate_layer, simulate_network, traffic
from stationary.systolic.model import preflight
from tests.clirun import run_cli

CFG = Path(__file__).parent.parent / "cases" / "scalesim" / "alexnet_a32_os_CALC" / "a32_os_CALC.cfg"
HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,"
BIG = SystolicProblem("big", 4096, 4096, 1, 1, 512, 512)  # 4.4 T MACs; its address stream is 8.6 G words


def test_exact_mode_refuses_a_huge_layer_before_allocating() -> None:
    assert preflight(BIG, SystolicConfig(), "exact").work_bytes > 64 * 2**30
    with pytest.raises(StationaryError, match=r"GiB of working memory.*--dram estimate"):
        simulate_layer(BIG, SystolicConfig())
    with pytest.raises(StationaryError, match="--dram estimate"):  # every layer is checked before any runs
        simulate_network([SystolicProblem("small", 8, 8, 3, 3, 2, 4), BIG], SystolicConfig())


def test_estimate_mode_answers_a_huge_layer_in_closed_form() -> None:
    cfg = SystolicConfig()
    assert preflight(BIG, cfg, "estimate").work_bytes == 0
    r = simulate_layer(BIG, cfg, dram="estimate")
    assert r.macs == 4096 * 4096 * 512 * 512
    assert r.total_cycles * 32 * 32 >= r.macs and 0 < r.overall_util_pct <= 100
    assert r.dram_ofmap_writes == 4096 * 4096 * 512  # every output written back once


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS")
def test_cli_big_layer_refused_or_estimated_within_3_gib(tmp_path: Path) -> None:
    # before: ~292 GiB asked for, even with --dram estimate (the ofmap buffer's per-cycle arrays)
    topo = tmp_path / "big.csv"
    topo.write_text(f"{HEADER}\nBig, 4096, 4096, 1, 1, 512, 512, 1,\n")
    exact = run_cli("systolic", "--config", str(CFG), "--topology", str(topo), memory_gib=3, timeout_s=300)
    assert exact.returncode == 2 and "--dram estimate" in exact.stderr and "GiB" in exact.stderr, exact.stderr
    est = run_cli("systolic", "--config", str(CFG), "--topology", str(topo), "--dram", "estimate", "--json",
                  memory_gib=3, timeout_s=300)
    assert est.returncode == 0, est.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS")
def test_cli_widest_array_within_3_gib_and_a_billion_wide_one_refused(tmp_path: Path) -> None:
    # before: ArrayWidth 1,000,000,000 asked for 171 GiB (a per-cycle array of 10^9 cycles per fold); the cfg
    # reader now refuses widths above 65,536, and the widest array it accepts runs in bounded memory
    topo = tmp_path / "t.csv"
    topo.write_text(f"{HEADER}\nConv, 15, 15, 3, 3, 16, 32, 1,\n")
    for width, ok in (("65536", True), ("1000000000", False)):
        cfg = tmp_path / f"wide{width}.cfg"
        cfg.write_text("\n".join(f"ArrayWidth: {width}" if ln.startswith("ArrayWidth") else ln
                                 for ln in CFG.read_text().splitlines()) + "\n")
        for mode in ("exact", "estimate"):
            done = run_cli("systolic", "--config", str(cfg), "--topology", str(topo), "--dram", mode, "--json",
                           memory_gib=3, timeout_s=300)
            if ok:
                assert done.returncode == 0, done.stderr
            else:
                assert done.returncode == 2 and "ArrayWidth" in done.stderr, done.stderr


@st.composite
def layers(draw):
    r, s = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    p = SystolicProblem("p", draw(st.integers(r, 9)), draw(st.integers(s, 9)), r, s, draw(st.integers(1, 5)),
                        draw(st.integers(1, 12)), draw(st.integers(1, 2)), draw(st.integers(1, 2)),
                        groups=draw(st.integers(1, 3)))
    cfg = SystolicConfig(array_rows=draw(st.integers(1, 6)), array_cols=draw(st.integers(1, 6)),
                         ofmap_sram_kb=draw(st.integers(1, 2)), dataflow=draw(st.sampled_from(["os", "ws", "is"])))
    return p, cfg


@settings(max_examples=60, deadline=None)
@given(layers())
def test_closed_form_ofmap_writes_equal_the_per_cycle_array(layer) -> None:
    p, cfg = layer
    closed = traffic.ofmap_writes(p, cfg)
    cum = np.cumsum(traffic.ofmap_writes_per_cycle(p, cfg))
    assert closed.rows == len(cum) and closed.total == int(cum[-1])
    assert [closed.at(c) for c in range(-2, len(cum) + 2)] == [0, 0, *cum.tolist(), int(cum[-1]), int(cum[-1])]
    array = traffic.ArrayWrites(cum)
    for words in range(1, closed.total + 1, max(1, closed.total // 40)):
        assert closed.first_reaching(words) == array.first_reaching(words)
    for line_words in (cfg.array_cols, 3):
        assert traffic.write_traffic(closed, cfg.ofmap_sram_kb, line_words) == \
            traffic.write_traffic(array, cfg.ofmap_sram_kb, line_words)


def test_identical_layers_are_computed_once() -> None:
    cfg = SystolicConfig(array_rows=4, array_cols=4)
    layers_ = [SystolicProblem(f"L{i}", 6, 6, 3, 3, 2, 3) for i in range(2000)]
    seen: list[int] = []
    results = simulate_network(layers_, cfg, progress=lambda k, n: seen.append(k))
    alone = simulate_layer(layers_[7], cfg)
    assert results[7] == alone and [r.name for r in results[:3]] == ["L0", "L1", "L2"]
    assert seen == list(range(1, 2001))
