"""The fusion search: never worse than layer by layer (random chains and architectures), modes, CLI."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stationary.arch.spec import ActionEnergy, Architecture, ComputeUnit, StorageLevel
from stationary.errors import StationaryError
from stationary.fusion.graph import make_group
from stationary.fusion.report import fusion_json
from stationary.fusion.search import MAX_TILES, _sizes, best_tiling, plan_fusion, tiling_energy_pj
from stationary.fusion.tiles import RECOMPUTE, RETAIN, count
from stationary.mapper.network import map_network, select_layers
from stationary.mapper.search import SearchOptions
from stationary.workload.layer import conv2d
from stationary.workload.network import Network
from stationary.workload.zoo import get_model
from tests.clirun import run_cli

OPTS = SearchOptions(budget=600, batch=256, seed_dataflows=False, seed_keeps=False, polish_share=0.0)


def arch(buf_words: int, dram_pj: float, block: int) -> Architecture:
    e = ActionEnergy
    return Architecture("rand", (
        StorageLevel("DRAM", block_size=block, energy=e(dram_pj, dram_pj, dram_pj)),
        StorageLevel("Buf", depth=buf_words // block, block_size=block, energy=e(6, 6, 7)),
        StorageLevel("RF", depth=16, instances=2, mesh_x=2, mesh_y=1, energy=e(1, 1, 1)),
    ), ComputeUnit("MAC", 2, 2, 1, energy_pj=1.0))


@st.composite
def chains(draw: st.DrawFn) -> Network:
    hw, c = draw(st.integers(5, 9)), draw(st.integers(1, 3))
    layers = []
    for k in range(draw(st.integers(2, 3))):
        out = draw(st.integers(1, 3))
        kernel = draw(st.sampled_from([1, 3]))
        lay = conv2d(f"l{k}", c, out, hw, kernel, padding=kernel // 2, bias=False,
                     inputs=(layers[-1].name,) if layers else ())
        layers.append(lay)
        c, hw = out, lay.P
    return Network("rand", tuple(layers), (1, layers[0].C, layers[0].H, layers[0].W))


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=chains(), buf=st.sampled_from([64, 256, 4096]), dram=st.sampled_from([20.0, 200.0]),
       block=st.sampled_from([1, 2]))
def test_fused_never_worse_than_layer_by_layer(net: Network, buf: int, dram: float, block: int) -> None:
    a = arch(buf, dram, block)
    plans = map_network(net, a, options=OPTS, jobs=1)
    plan = plan_fusion(net, a, plans, "auto", OPTS)
    assert plan.energy_pj <= plan.layer_by_layer_energy_pj * (1 + 1e-9)
    assert [n for g in plan.groups for n in g.names] == [x.name for x in net.layers]
    for g in plan.groups:
        assert g.buffer_words <= buf
    most = plan_fusion(net, a, plans, "max", OPTS)
    assert len(most.groups) <= len(plan.groups)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=chains(), buf=st.sampled_from([64, 256, 4096]), dram=st.sampled_from([20.0, 200.0]),
       block=st.sampled_from([1, 2]))
def test_mixed_halos_never_worse_than_all_retain_or_all_recompute(net: Network, buf: int, dram: float,
                                                                   block: int) -> None:
    a = arch(buf, dram, block)
    group = make_group(net, 0, len(net.layers))
    anchor = group.layers[-1]
    uniform = [tiling_energy_pj(c, a, 1) for rows in _sizes(anchor.P) for cols in _sizes(anchor.Q)
               if -(-anchor.P // rows) * -(-anchor.Q // cols) <= MAX_TILES
               for pol in (RETAIN, RECOMPUTE)
               if (c := count(group, rows, cols, {"": pol, **dict.fromkeys(group.names, pol)}, buf)).buffer_words
               <= buf]
    found = best_tiling(group, a, 1)
    if not uniform:
        assert isinstance(found, int) and found > buf
        return
    assert not isinstance(found, int)
    (rows, cols, halos, heads), words = found
    c = count(group, rows, cols, halos, buf, heads)
    assert c.buffer_words == words <= buf
    assert tiling_energy_pj(c, a, 1) <= min(uniform) * (1 + 1e-9)


def test_big_buffer_fuses_the_chain_and_saves_dram() -> None:
    net = Network("c", (conv2d("a", 2, 3, 8, 3, padding=1, bias=False),
                        conv2d("b", 3, 2, 8, 3, padding=1, inputs=("a",), bias=False)), (1, 2, 8, 8))
    a = arch(4096, 200.0, 1)
    plans = map_network(net, a, options=OPTS, jobs=1)
    plan = plan_fusion(net, a, plans, "max", OPTS)
    assert [g.names for g in plan.groups] == [("a", "b")]
    out = fusion_json(plan)
    g = out["groups"][0]
    # the group pays DRAM for its input, output and weights only
    assert g["dram_bytes"] == (2 * 8 * 8 + 2 * 8 * 8 + 3 * 2 * 9 + 2 * 3 * 9) * 2
    assert out["dram_bytes_fused"] < out["dram_bytes_layer_by_layer"]


def test_no_fusible_pair_says_so() -> None:
    net = select_layers(get_model("lenet5"), "conv")  # a subset is unwired: no edges
    with pytest.raises(StationaryError, match="no fusible pair"):
        plan_fusion(net, arch(256, 200.0, 1), [], "auto", OPTS)


def test_a_fusion_level_that_bypasses_a_tensor_is_skipped_or_refused() -> None:
    """The group stages weights, inputs and outputs at its fusion level: a level that bypasses one is not
    chosen (a deeper one is), and naming it, or having no other, is a clear error, not a crash in the search."""
    from dataclasses import replace

    from stationary.fusion.cost import fusion_level

    a = arch(4096, 200.0, 1)
    no_weights = replace(a, levels=(a.levels[0], replace(a.levels[1], bypass_always=frozenset({"Weights"})),
                                    a.levels[2]))
    assert fusion_level(no_weights) == 2  # the RF below holds every tensor
    with pytest.raises(StationaryError, match="fusion level Buf bypasses Weights"):
        fusion_level(no_weights, "Buf")
    only_buf = replace(no_weights, levels=no_weights.levels[:2] + (replace(a.levels[2], depth=None),))
    with pytest.raises(StationaryError, match="Buf bypasses Weights"):
        fusion_level(only_buf)


def test_cli_fuse_json_and_text() -> None:
    out = run_cli("evaluate", "lenet5", "--arch", "eyeriss", "--budget", "500", "--jobs", "1", "--fuse", "auto",
                  "--json")
    assert out.returncode == 0, out.stderr
    fusion = json.loads(out.stdout)["fusion"]
    assert {"groups", "dram_bytes_layer_by_layer", "dram_bytes_fused"} <= fusion.keys()
    assert {"layers", "dram_bytes", "buffer_words", "recompute_macs"} <= fusion["groups"][0].keys()
    assert fusion["energy_pj_fused"] <= fusion["energy_pj_layer_by_layer"] * (1 + 1e-9)
    text = run_cli("evaluate", "lenet5", "--arch", "eyeriss", "--budget", "500", "--jobs", "1", "--fuse", "max")
    assert text.returncode == 0, text.stderr
    assert "layer by layer ->" in text.stdout
    plain = run_cli("evaluate", "lenet5", "--arch", "eyeriss", "--budget", "500", "--jobs", "1", "--json")
    assert "fusion" not in json.loads(plain.stdout)


def test_cli_bad_fuse_and_no_pair() -> None:
    bad = run_cli("evaluate", "lenet5", "--fuse", "some")
    assert bad.returncode != 0 and "--fuse must be one of" in bad.stdout + bad.stderr
    none = run_cli("evaluate", "lenet5", "--layers", "conv", "--budget", "500", "--jobs", "1", "--fuse", "auto")
    assert none.returncode != 0 and "no fusible pair" in none.stdout + none.stderr


def test_fusion_json_names_the_network_input() -> None:
    """The network input's producer is "" inside the search; the JSON calls it by name, other keys unchanged."""
    from stationary.fusion.report import NETWORK_INPUT, named_halos

    assert named_halos({"": "retain", "conv1": "recompute"}) == {NETWORK_INPUT: "retain", "conv1": "recompute"}
    assert named_halos({}) is None
