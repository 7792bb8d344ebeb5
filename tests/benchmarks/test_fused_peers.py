"""benchmarks/bench_fused_peers.py without the peer venvs: its translations load and fuse in stationary, --help
works, and a replay of recorded AccelForge / Stream outputs gives the fused DRAM words both peers counted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stationary.arch.load import load_arch
from stationary.fusion.graph import make_group
from stationary.fusion.tiles import RETAIN, count

BENCH_DIR = Path(__file__).parents[2] / "benchmarks"
BENCH = BENCH_DIR / "bench_fused_peers.py"
DATA = Path(__file__).parent / "data"
sys.path.insert(0, str(BENCH_DIR))

import bench_fused_peers as bfp  # noqa: E402


def test_accelforge_simple_translation() -> None:
    arch = load_arch(bfp.AF_ARCH)
    assert [lv.name for lv in arch.levels] == ["MainMemory", "GlobalBuffer"]
    assert arch.levels[1].size_words == bfp.AF_GLB_BITS // bfp.AF_BITS  # 32768 bits of 8-bit words
    assert arch.levels[0].energy.read_pj == bfp.AF_MAIN_MEMORY_ENERGY * bfp.AF_BITS
    assert arch.compute.instances == 1


def test_stream_tpu_like_translation() -> None:
    arch = load_arch(bfp.STREAM_ARCH)
    assert [lv.name for lv in arch.levels] == ["DRAM", "SRAM_2MB", "RF_128B", "RF_4B"]
    assert arch.levels[1].size_words == 2 * 2**20  # Stream's sram_2MB: 16,777,216 bits of 8-bit words
    assert arch.levels[0].energy.read_pj == 1000 / 8  # Stream's DRAM: 1000 per 64-bit access
    assert arch.compute.instances == 32 * 32


def test_networks_are_fusible_chains() -> None:
    chain = bfp.matmul_chain(3, 64, 64)
    group = make_group(chain, 0, 3)
    assert [e.producer for e in group.internal] == ["Matmul0", "Matmul1"]
    # one tile of 32 rows of a 64x64 chain: every intermediate stays on chip, each weight is read per tile
    c = count(group, 32, 1, dict.fromkeys(["", *group.names], RETAIN), 4096)
    assert (c.input_words, c.output_words, c.weight_words) == (64 * 64, 64 * 64, 3 * 64 * 64 * 2)
    peer = json.loads((DATA / "stream_two_conv_fused.json").read_text().strip().splitlines()[-1])
    convs = bfp.two_conv(peer)
    assert [x.M for x in convs.layers] == [16, 32] and make_group(convs, 0, 2).names == ("conv1", "conv2")


def test_help() -> None:
    out = subprocess.run([sys.executable, str(BENCH), "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "--quick" in out.stdout and "--accelforge-json" in out.stdout


def test_replay_of_recorded_peer_outputs(tmp_path: Path) -> None:
    out_json = tmp_path / "fused_peers.json"
    out = subprocess.run([sys.executable, str(BENCH), "--quick", "--budget", "1500",
                          "--accelforge-json", str(DATA / "accelforge_fused_matmuls2.jsonl"),
                          "--stream-json", f"{DATA / 'stream_two_conv_fused.json'},"
                                           f"{DATA / 'stream_two_conv_per_layer.json'}",
                          "--out", str(out_json)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "AccelForge 1.0.467 FFM" in out.stdout and "Stream 2.1.1" in out.stdout
    res = json.loads(out_json.read_text())
    # fused DRAM words come from the fused loop nest's counts, not the search: both peers' counts exactly
    assert res["accelforge"]["stationary"]["dram_words_fused"] == res["accelforge"]["peer_fused"]["dram_words"] == 24576
    # AccelForge's shipped example mappings (weights resident in an unbounded GlobalBuffer): every tensor once
    ex = res["accelforge_examples"]
    assert ex["stationary"]["dram_words_fused"] == ex["peer_fused"]["dram_words"] == 4 * 64 * 64
    assert ex["stationary"]["dram_words_layer_by_layer"] == ex["peer_layer_by_layer"]["dram_words"] == 6 * 64 * 64
    assert res["stream"]["stationary"]["dram_words_fused"] == res["stream"]["peer_fused"]["dram_words"] == 46720
    # Stream counts the inputs a layer touches; with the padded box re-counted that way, equal words
    assert res["stream"]["stationary_splits"]["lbl_dram_words_touched_inputs"] <= \
        res["stream"]["stationary"]["dram_words_layer_by_layer"]


@pytest.mark.parametrize("bad", ["only-one-path"])
def test_stream_json_needs_two_paths(bad: str) -> None:
    out = subprocess.run([sys.executable, str(BENCH), "--only", "stream", "--stream-json", bad],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "--stream-json" in out.stderr
