"""The native arch YAML is strict: each bad key, type or range is one StationaryError naming field and file."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import pytest
import yaml

from stationary.arch.load import PRESET_DIR, load_arch, preset_names
from stationary.arch.native import arch_from_native
from stationary.errors import StationaryError

EYERISS = yaml.safe_load((PRESET_DIR / "eyeriss.yaml").read_text())


def refused(change: Any, field: str, match: str) -> None:
    data = copy.deepcopy(EYERISS)
    change(data)
    with pytest.raises(StationaryError, match=match or None) as exc:
        arch_from_native(data, "e.yaml")
    assert exc.value.file == "e.yaml" and exc.value.field == field


def test_misspelled_size_is_refused_not_unbounded() -> None:
    def typo(d: dict) -> None:
        d["levels"][1]["size_KB"] = d["levels"][1].pop("size_kb")
    refused(typo, "levels[1].size_KB", r"unknown key `size_KB` \(did you mean `size_kb`\?\)")


@pytest.mark.parametrize("value", [2.5, True, "abc", 0, -4, 1 << 30])
def test_pe_counts_are_whole_positive_bounded_integers(value: Any) -> None:
    refused(lambda d: d["compute"].__setitem__("mesh_x", value), "compute.mesh_x", "")


@pytest.mark.parametrize("change, field", [
    (lambda d: d["levels"][2].__setitem__("keep", ["Weight"]), "levels[2].keep[0]"),
    (lambda d: d["levels"][3].__setitem__("bypass", ["Psums"]), "levels[3].bypass[0]"),
    (lambda d: d["levels"][2].__setitem__("energy", 17), "levels[2].energy"),
    (lambda d: d["levels"][2].__setitem__("energy", {}), "levels[2].energy"),
    (lambda d: d["levels"][2].__setitem__("read_bandwidth", "abc"), "levels[2].read_bandwidth"),
    (lambda d: d.__setitem__("word_bits", 0), "word_bits"),
    (lambda d: d["levels"][1].__setitem__("word_bits", 0), "levels[1].word_bits"),
    (lambda d: d["levels"][2]["energy"].__setitem__("read_pj", math.inf), "levels[2].energy.read_pj"),
    (lambda d: d["levels"][2]["energy"].__setitem__("read_pj", 1e308), "levels[2].energy.read_pj"),
    (lambda d: d["levels"][2]["energy"].__setitem__("leak_pj", -1.0), "levels[2].energy.leak_pj"),
    (lambda d: d["compute"].__setitem__("energy_pj", math.nan), "compute.energy_pj"),
    (lambda d: d["levels"][1].__setitem__("depth", 100), "levels[1].size_kb"),
    (lambda d: d["levels"][1].__setitem__("size_kb", 1e-6), "levels[1].size_kb"),
    (lambda d: d["levels"][1].__setitem__("kind", "sram"), "levels[1].kind"),
    (lambda d: d.__setitem__("clock_mhz", "fast"), "clock_mhz"),
    (lambda d: d.__setitem__("energy_tabel", "survey"), "energy_tabel"),
    (lambda d: d.__setitem__("levels", []), "levels"),
    (lambda d: d["levels"].__setitem__(1, "GlobalBuffer"), "levels[1]"),
    (lambda d: d["levels"][1].__setitem__("component", {"type": "sram"}), "levels[1].component"),
    (lambda d: d["levels"][4].__setitem__("must_keep", ["Weights"]), "levels[4].must_keep"),
])
def test_bad_values_name_the_field(change: Any, field: str) -> None:
    refused(change, field, "")


def test_energy_of_a_wrong_shape_says_so() -> None:
    refused(lambda d: d["levels"][2].__setitem__("energy", 17), "levels[2].energy", "expected a mapping, got 17")


def test_no_tensor_comes_from_nowhere() -> None:
    refused(lambda d: d["levels"][0].__setitem__("bypass", ["Weights"]), "levels[0].bypass", "outermost level")
    refused(lambda d: d["levels"][0].__setitem__("keep", ["Inputs", "Outputs"]), "levels[0].keep", "outermost")


def test_every_energy_in_a_result_is_finite_json() -> None:
    """1e308 pJ per access used to give inf totals (and the non-JSON token `Infinity`): now refused at load."""
    for name in preset_names():
        arch = load_arch(name)
        values = [lv.energy.read_pj for lv in arch.levels] + [arch.compute.energy_pj]
        json.dumps(values, allow_nan=False)


def test_presets_load_with_their_documented_numbers() -> None:
    eyeriss = load_arch("eyeriss")
    gb = eyeriss.levels[1]
    assert gb.size_words == 108 * 1024 * 8 // 16 and gb.block_size == 4  # 108 kB of 16-bit words
    assert (gb.energy.read_pj, gb.energy.update_pj, gb.energy.leak_pj) == (60, 76, 150)
    assert eyeriss.compute.instances == 168 and eyeriss.clock_mhz == 200
    assert [lv.keep_only for lv in eyeriss.levels[2:]] == [frozenset({t}) for t in ("Weights", "Inputs", "Outputs")]
    survey = load_arch("survey256")
    assert survey.levels[2].size_words == 256 and survey.compute.energy_pj == 1.0


def test_multicast_per_tensor_and_axis_and_leakage_convention_reach_the_level() -> None:
    data = copy.deepcopy(EYERISS)
    data["levels"][1]["no_multicast"] = {"Inputs": ["X"]}
    data["levels"][1]["leak_instances"] = "all"
    lv = arch_from_native(data, "e.yaml").levels[1]
    assert lv.no_multicast == frozenset({("Inputs", "X")}) and lv.leak_instances == "all"
    default = arch_from_native(copy.deepcopy(EYERISS), "e.yaml").levels[1]
    assert default.no_multicast == frozenset() and default.leak_instances == "used"
    refused(lambda d: d["levels"][1].__setitem__("no_multicast", {"Psums": ["X"]}), "levels[1].no_multicast.Psums",
            "")
    refused(lambda d: d["levels"][1].__setitem__("no_multicast", {"Inputs": ["Z"]}),
            "levels[1].no_multicast.Inputs[0]", "")
    refused(lambda d: d["levels"][1].__setitem__("leak_instances", "some"), "levels[1].leak_instances", "")
