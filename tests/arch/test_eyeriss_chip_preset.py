"""The eyeriss_chip preset is the eyeriss preset plus the chip's sparsity features, nothing else."""

from __future__ import annotations

from dataclasses import replace

import pytest

from stationary.arch.load import load_arch
from stationary.model.sparsity import TensorFormat, word_factor


def test_chip_preset_is_eyeriss_plus_sparsity() -> None:
    chip, dense = load_arch("eyeriss_chip"), load_arch("eyeriss")
    assert dense.sparsity is None
    assert replace(chip, name="eyeriss", sparsity=None) == dense
    sp = chip.sparsity
    assert sp is not None and sp.compute_zero == "gate"
    assert {t for lv, t, f in sp.formats if lv == "DRAM" and f.format == "rlc"} == {"Inputs", "Outputs"}
    assert sp.zero_at("WeightSpad", "Weights") == "gate" and sp.density("Weights") == 1.0
    # the documented density: where the Model's RLC saves the mean (52.5 %) of the published 30 % and 75 %
    assert 1 - word_factor(TensorFormat("rlc"), sp.density("Inputs"), 16) == pytest.approx(0.525, abs=1e-3)
