"""The survey's dataflow comparison (studies/dataflows.py): equal-area architectures per dataflow, and a breakdown
that accounts for exactly the energy of the mappings it summarizes."""

from __future__ import annotations

import math

import pytest

from stationary.errors import StationaryError
from stationary.mapper.search import SearchOptions
from stationary.studies import dataflows
from stationary.studies.dataflows import ARRAY_PJ, compare_dataflows, survey_arch
from stationary.workload.layer import LayerKind
from stationary.workload.zoo import get_model


def test_survey_arch_scales_the_array_and_gives_nlr_the_rf_area() -> None:
    rs, nlr = survey_arch(64, "rs"), survey_arch(64, "nlr")
    assert rs.compute.instances == rs.compute.mesh_x * rs.compute.mesh_y == 64
    gb = dataflows.array_level(rs)
    rs_bytes, nlr_bytes = rs.levels[gb].size_bytes, nlr.levels[gb].size_bytes
    assert rs_bytes is not None and nlr_bytes is not None and nlr_bytes > rs_bytes  # no RF: its area becomes buffer
    # every tensor a PE does not keep crosses the array at every MAC: RS keeps all three, NLR none
    assert math.isclose(nlr.compute.energy_pj - rs.compute.energy_pj, 3 * ARRAY_PJ, rel_tol=1e-9)
    with pytest.raises(StationaryError) as info:
        survey_arch(200)
    assert info.value.field == "--pes"


def test_breakdown_accounts_for_the_mapped_energy() -> None:
    out = compare_dataflows("lenet5", pes=16, batch=1, kind="fc", dataflows=("ws", "rs"),
                            options=SearchOptions(budget=200), jobs=1)
    fc = {x.name: x.loop_nest().macs for x in get_model("lenet5").layers if x.kind == LayerKind.FC}
    assert set(out["dataflows"]) == {"ws", "rs"} and out["dataflows"][out["lowest"]]["relative_to_best"] == 1.0
    for entry in out["dataflows"].values():
        assert entry["macs"] == sum(fc.values()) and set(entry["per_layer"]) == set(fc)
        mapped_pj = sum(entry["per_layer"][name] * macs for name, macs in fc.items())  # the mapper's energy
        assert math.isclose(entry["energy_per_mac"] * entry["macs"], mapped_pj, rel_tol=1e-9)
        assert math.isclose(sum(entry["breakdown"].values()), entry["energy_per_mac"], rel_tol=1e-9)
        assert entry["relative_to_best"] >= 1.0
        assert entry["breakdown"]["ALU"] == pytest.approx(1.0, rel=1e-9)  # one MAC = 1 in the survey's units
