"""Strict Timeloop readers: arch, ERT, problem, mapping — an unknown key names the nearest known one, a wrong
type or range is one error, integers stay integers, energies are finite and non-negative."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from stationary.arch.ert import EnergyTable
from stationary.arch.timeloop import arch_from_dict
from stationary.errors import StationaryError
from stationary.mapping.timeloop import mapping_from_dict
from stationary.workload.importers.timeloop import problem_from_dict
from stationary.yamlio import load_yaml
from tests.clirun import run_cli

CASE = Path(__file__).parents[1] / "cases" / "timeloop" / "7_eyeriss"
EXERCISE = Path(__file__).parent / "cases" / "eyeriss_exercise"


def arch_data() -> dict:
    return copy.deepcopy(load_yaml(EXERCISE / "arch.yaml"))


def ert() -> EnergyTable:
    return EnergyTable.load(CASE / "ert.yaml")


def node(data: dict, name: str) -> dict:
    def walk(nodes: list) -> dict | None:
        for n in nodes:
            if n.get("name") == name:
                return n
            if "nodes" in n:
                found = walk(n["nodes"])
                if found:
                    return found
        return None

    found = walk(data["architecture"]["nodes"])
    assert found is not None
    return found


def set_in(data: dict, name: str, key: str, value: Any) -> dict:
    node(data, name)[key] = value
    return data


def attr(name: str, key: str, value: Any) -> dict:
    data = arch_data()
    node(data, name).setdefault("attributes", {})[key] = value
    return data


@pytest.mark.parametrize("data, match", [
    (attr("shared_glb", "size_KB", 108), "unknown key `size_KB` .did you mean `sizeKB`"),
    (attr("shared_glb", "depht", 10), "did you mean `depth`"),
    (attr("shared_glb", "depth", 2.5), "expected an integer"),
    (attr("shared_glb", "depth", True), "expected an integer"),
    (attr("shared_glb", "multiple_buffering", 2), "not modelled"),
    (attr("system", "global_cycle_seconds", 0), "global_cycle_seconds must be in"),
    (attr("system", "global_cycle_seconds", "fast"), "finite number"),
    (attr("shared_glb", "read_bandwidth", "abc"), "finite number"),
    (set_in(arch_data(), "shared_glb", "attributes", [1, 2]), "expected a mapping"),
    (set_in(arch_data(), "PE", "spatial", 12), "expected a mapping"),
    (set_in(arch_data(), "PE", "spatial", {"meshY": 2.5}), "expected an integer"),
    (set_in(arch_data(), "PE", "spatial", {"mesh_y": 12}), "did you mean `meshY`"),
    (set_in(arch_data(), "PE", "constraint", {}), "did you mean `constraints`"),
    (set_in(arch_data(), "PE", "constraints", {"spatail": {}}), "did you mean `spatial`"),
    (set_in(arch_data(), "eyeriss", "constraints", {"temporal": {"factors": "C=1"}}), "no spatial mesh"),
    (set_in(arch_data(), "ifmap_spad", "constraints", {"dataspace": {"keep": ["Inputs", "Weights"]}}),
     "kept in two branches"),
    (set_in(arch_data(), "ifmap_spad", "constraints", {"dataspace": {"keep": "Inputs"}}), "list of data-space"),
])
def test_bad_timeloop_arch_is_one_clear_error(data: dict, match: str) -> None:
    with pytest.raises(StationaryError, match=match):
        arch_from_dict(data, ert(), "arch.yaml")


def test_accelergy_attributes_are_accepted_and_sizes_may_be_entries_or_kb() -> None:
    base = arch_from_dict(arch_data(), ert(), "arch.yaml")
    glb = base.levels[base.level_index("shared_glb")]
    assert glb.size_words == 16384 * 8
    for key, value in (("entries", 16384 * 8), ("sizeKB", 128)):
        data = arch_data()
        a = node(data, "shared_glb")["attributes"]
        del a["depth"]
        a[key] = value
        a["cluster_size"], a["latency"] = 1, 5  # a neutral Timeloop attribute, an Accelergy one
        arch = arch_from_dict(data, ert(), "arch.yaml")
        assert arch.levels[arch.level_index("shared_glb")].size_words == glb.size_words


def ert_data() -> dict:
    return copy.deepcopy(load_yaml(CASE / "ert.yaml"))


@pytest.mark.parametrize("change, match", [
    (lambda d: d["ERT"]["tables"][0].update(actions={"read": 1}), "valid list"),
    (lambda d: d["ERT"]["tables"][0]["actions"][0].update(energy=float("inf")), "finite"),
    (lambda d: d["ERT"]["tables"][0]["actions"][0].update(energy=-1.0), "energy must be non-negative"),
    (lambda d: d["ERT"]["tables"][0]["actions"][0].update(energy="1.0"), "valid number"),
    (lambda d: d["ERT"]["tables"][0].update(nmae="x"), "did you mean `name`"),
    (lambda d: d.update(ert=1), "unknown key `ert`"),
])
def test_bad_ert_is_one_clear_error(change: Any, match: str) -> None:
    data = ert_data()
    change(data)
    with pytest.raises(StationaryError, match=match):
        EnergyTable.from_dict(data, "ert.yaml")


def problem_data() -> dict:
    return copy.deepcopy(load_yaml(CASE / "problem.yaml"))


def inputs(d: dict) -> dict:
    return d["problem"]["shape"]["data_spaces"][1]


@pytest.mark.parametrize("change, match", [
    (lambda d: inputs(d)["projection"][2].__setitem__(0, ["R", -1]), "positive integer"),
    (lambda d: inputs(d)["projection"][2].__setitem__(0, ["R", 0]), "positive integer"),
    (lambda d: d["problem"]["instance"].update(Wstride=-2), "expected an integer in \\[1"),
    (lambda d: inputs(d)["projection"].append([["C"]]), "on two axes"),
    (lambda d: d["problem"]["instance"].update(C=2.5), "expected an integer"),
    (lambda d: d["problem"]["instance"].update(C=True), "expected an integer"),
    (lambda d: d["problem"]["instance"].update(Cc=3), "did you mean `C`"),
    (lambda d: d["problem"]["instance"].update(densities={"Weights": 0.5}), "not modelled"),
    (lambda d: inputs(d).update(read_write="yes"), "true or false"),
    (lambda d: inputs(d).update(projektion=[]), "did you mean `projection`"),
    (lambda d: d["problem"]["shape"].update(coefficients=[{"name": "Wstride", "default": 0}]), "integer in \\[1"),
    (lambda d: d["problem"]["shape"].update(data_spaces=[]), "at least one data space"),
])
def test_bad_problem_is_one_clear_error(change: Any, match: str) -> None:
    data = problem_data()
    change(data)
    with pytest.raises(StationaryError, match=match):
        problem_from_dict(data, "problem.yaml")


def mapping_case() -> tuple[dict, Any, Any]:
    from stationary.arch.load import load_arch

    arch = load_arch(CASE / "arch.yaml", CASE / "ert.yaml")
    nest = problem_from_dict(problem_data(), "problem.yaml")
    return copy.deepcopy(load_yaml(CASE / "mapping.yaml")), nest, arch


def directive(d: dict, target: str, kind: str) -> dict:
    return next(x for x in d["mapping"] if x["target"] == target and x["type"] == kind)


@pytest.mark.parametrize("change, match", [
    (lambda d: directive(d, "DRAM", "dataspace").update(keep=["Inputs", "Outputs"], bypass=["Weights"]),
     "from nowhere"),
    (lambda d: directive(d, "psum_spad", "dataspace").update(keep=["Outputs", "Weight"]), "unknown data space"),
    (lambda d: directive(d, "psum_spad", "dataspace").update(keep=["Outputs"], bypass=["Outputs"]),
     "both kept and bypassed"),
    (lambda d: directive(d, "DRAM", "temporal").update(factor="C=4"), "did you mean `factors`"),
    (lambda d: directive(d, "DRAM", "temporal").update(split=1), "unknown key `split`"),
    (lambda d: d["mapping"].append({"target": "DRAM", "type": "temporal", "factors": "C=1"}), "a second temporal"),
    (lambda d: directive(d, "DRAM", "temporal").update(factors="C<=4"), "not bounds"),
    (lambda d: d.update(mappings=[]), "did you mean `mapping`"),
])
def test_bad_mapping_is_one_clear_error(change: Any, match: str) -> None:
    data, nest, arch = mapping_case()
    change(data)
    with pytest.raises(StationaryError, match=match):
        mapping_from_dict(data, nest, arch, "mapping.yaml")


def test_cli_reports_a_misspelt_attribute_as_one_line(tmp_path: Path) -> None:
    arch = tmp_path / "arch.yaml"
    arch.write_text((EXERCISE / "arch.yaml").read_text().replace("depth: 16384", "size_KB: 108"))
    p = run_cli("map", "--arch", str(arch), "--ert", str(CASE / "ert.yaml"), "--problem", str(CASE / "problem.yaml"),
                timeout_s=120)
    assert p.returncode == 2 and "size_KB" in p.stderr and "sizeKB" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_a_parallel_group_that_keeps_no_copy_of_a_tensor_is_refused() -> None:
    from stationary.mapper.space import MapSpace

    data = arch_data()
    node(data, "ifmap_spad")["constraints"]["dataspace"] = {"keep": []}
    arch = arch_from_dict(data, ert(), "arch.yaml")
    nest = problem_from_dict(problem_data(), "problem.yaml")
    with pytest.raises(StationaryError, match="no branch of the !Parallel node .* keeps \\['Inputs'\\]"):
        MapSpace(nest, arch)
