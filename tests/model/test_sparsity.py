"""Sparsity in the model: format word counts against real encodings, gating against a MAC walk, the hook."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from stationary.arch.native import arch_from_native
from stationary.errors import StationaryError
from stationary.model.evaluate import evaluate
from stationary.model.fast import FastModel, mapping_arrays
from stationary.model.sparsity import Sparsity, TensorFormat, encoded_words, rlc_pairs_per_word, word_factor
from tests.model.random_cases import random_case

WORD_BITS = 16


def _exact_nnz(rng: np.random.Generator, shape: tuple[int, ...], nnz: int) -> np.ndarray:
    """A tensor with exactly `nnz` nonzero words at random places."""
    flat = np.zeros(math.prod(shape), np.int64)
    flat[rng.choice(flat.size, nnz, replace=False)] = rng.integers(1, 1 << 15, nnz)
    return flat.reshape(shape)


def _bits(n: int) -> int:
    return max(1, math.ceil(math.log2(max(n, 2))))


def _encode_bitmask(x: np.ndarray) -> tuple[int, int]:
    return int(np.count_nonzero(x)), x.size  # data words, metadata bits (one per word)


def _encode_coo(x: np.ndarray) -> tuple[int, int]:
    coords = [i for i, v in enumerate(x.ravel()) if v]
    return len(coords), len(coords) * _bits(x.size)


def _encode_csr(x: np.ndarray) -> tuple[int, int]:
    """Row pointers (rows + 1, each wide enough for nnz up to the size) and one column index per nonzero."""
    pointers = [0]
    cols: list[int] = []
    for row in x:
        cols.extend(j for j, v in enumerate(row) if v)
        pointers.append(len(cols))
    return len(cols), len(pointers) * _bits(x.size + 1) + len(cols) * _bits(x.shape[1])


def _encode_rlc(x: np.ndarray, run_bits: int = 5) -> int:
    """Eyeriss' RLC: (run, level) pairs; a run longer than 2^run_bits - 1 emits a pair whose level is 0."""
    pairs, run, top = 0, 0, 2 ** run_bits - 1
    for v in x.ravel():
        if v:
            pairs, run = pairs + 1, 0
        elif run == top:
            pairs, run = pairs + 1, 0  # this zero is the level of a (31, 0) pair
        else:
            run += 1
    return pairs + (1 if run else 0)


@pytest.mark.parametrize("seed", range(6))
def test_bitmask_coo_csr_csc_equal_real_encodings(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows, cols = int(rng.integers(2, 12)), int(rng.integers(2, 40))
    n = rows * cols
    nnz = int(rng.integers(0, n + 1))
    x = _exact_nnz(rng, (rows, cols), nnz)
    d = nnz / n
    data, meta_bits = _encode_bitmask(x)
    assert encoded_words(TensorFormat("bitmask"), n, d, WORD_BITS) == pytest.approx(
        (data, meta_bits / WORD_BITS), rel=1e-9, abs=1e-9)
    data, meta_bits = _encode_coo(x)
    assert encoded_words(TensorFormat("coo"), n, d, WORD_BITS) == pytest.approx(
        (data, meta_bits / WORD_BITS), rel=1e-9, abs=1e-9)
    data, meta_bits = _encode_csr(x)
    assert encoded_words(TensorFormat("csr", fiber_words=cols), n, d, WORD_BITS) == pytest.approx(
        (data, meta_bits / WORD_BITS), rel=1e-9, abs=1e-9)
    data, meta_bits = _encode_csr(x.T)  # CSC is CSR of the transpose: fibers are columns of `rows` words
    assert encoded_words(TensorFormat("csc", fiber_words=rows), n, d, WORD_BITS) == pytest.approx(
        (data, meta_bits / WORD_BITS), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("density", [0.02, 0.1, 0.35, 0.6, 1.0])
def test_rlc_pairs_equal_the_mean_of_real_encodings(density: float) -> None:
    """i.i.d. streams of the density, encoded pair by pair: the mean matches the closed form within 2 %."""
    rng = np.random.default_rng(int(density * 1000))
    n, trials = 4096, 40
    pairs = [_encode_rlc((rng.random(n) < density).astype(np.int64)) for _ in range(trials)]
    expected = n * rlc_pairs_per_word(density)
    assert np.mean(pairs) == pytest.approx(expected, rel=0.02)
    data, meta = encoded_words(TensorFormat("rlc"), n, density, WORD_BITS)
    assert data == pytest.approx(expected, rel=1e-12)
    assert meta == pytest.approx(expected * 5 / WORD_BITS, rel=1e-12)


def test_gating_equals_a_walk_of_the_macs() -> None:
    """A 1x1 conv (matmul) walked MAC by MAC: the fraction with both operands nonzero is dW * dI on average."""
    rng = np.random.default_rng(7)
    d_w, d_i = 0.4, 0.55
    fractions = []
    for _ in range(30):
        w = rng.random((16, 24)) < d_w  # M x C
        i = rng.random((24, 20)) < d_i  # C x P
        both = sum(int(w[m, c] and i[c, p]) for m in range(16) for c in range(24) for p in range(20))
        fractions.append(both / (16 * 24 * 20))
    sp = Sparsity((("Weights", d_w), ("Inputs", d_i)), compute_zero="gate")
    nest, arch, mapping = random_case(3, windows=False)
    dense = evaluate(nest, arch, mapping, check_capacity=False)
    gated = evaluate(nest, replace(arch, sparsity=sp), mapping, check_capacity=False)
    assert gated.compute_energy_pj == pytest.approx(dense.compute_energy_pj * d_w * d_i, rel=1e-9)
    assert gated.cycles == dense.cycles  # gating saves energy, not time
    assert np.mean(fractions) == pytest.approx(d_w * d_i, rel=0.03)
    skipped = evaluate(nest, replace(arch, sparsity=replace(sp, compute_zero="skip")), mapping,
                       check_capacity=False)
    assert skipped.compute_cycles == max(1, math.ceil(dense.compute_cycles * d_w * d_i - 1e-9))


@pytest.mark.parametrize("seed", range(8))
def test_formats_scale_each_level_and_both_counters_agree(seed: int) -> None:
    nest, arch, mapping = random_case(seed, windows=False)
    outer = arch.levels[0].name
    sp = Sparsity((("Inputs", 0.3), ("Weights", 0.5)),
                  ((outer, "Inputs", TensorFormat("rlc")), (outer, "Weights", TensorFormat("bitmask"))))
    dense = evaluate(nest, arch, mapping, check_capacity=False)
    sparse_arch = replace(arch, sparsity=sp)
    sparse = evaluate(nest, sparse_arch, mapping, check_capacity=False)
    for t, fmt, d in (("Inputs", TensorFormat("rlc"), 0.3), ("Weights", TensorFormat("bitmask"), 0.5)):
        f = word_factor(fmt, d, arch.levels[0].word_bits)
        tc, ts = dense.level(outer).tensors[t], sparse.level(outer).tensors[t]
        assert ts.reads_per_instance == math.ceil(tc.reads_per_instance * f - 1e-9)
    assert sparse.level(outer).tensors["Outputs"] == dense.level(outer).tensors["Outputs"]
    fr = FastModel(nest, sparse_arch).evaluate(mapping_arrays([mapping], nest, sparse_arch))
    assert math.isclose(float(fr.energy_pj[0]), sparse.energy_pj, rel_tol=1e-9)


def test_density_one_and_uncompressed_is_dense() -> None:
    nest, arch, mapping = random_case(1, windows=False)
    sp = Sparsity((("Inputs", 1.0),), ((arch.levels[0].name, "Inputs", TensorFormat("uncompressed")),))
    assert evaluate(nest, replace(arch, sparsity=sp), mapping, check_capacity=False) == evaluate(
        nest, arch, mapping, check_capacity=False)


def _doc(**extra: object) -> dict:
    return {"name": "t", "compute": {"mesh_x": 2, **extra.pop("compute", {})},  # type: ignore[dict-item]
            "levels": [{"name": "DRAM", "kind": "DRAM", **extra.pop("level", {})},  # type: ignore[dict-item]
                       {"name": "RF", "kind": "RF", "depth": 64, "mesh_x": 2}], **extra}


def test_native_spec_keys() -> None:
    arch = arch_from_native(_doc(densities={"Inputs": 0.4}, compute={"zero": "gate"},
                                 level={"formats": {"Inputs": "rlc", "Weights": {"format": "csr",
                                                                                 "fiber_words": 9}},
                                        "zero": {"Weights": "gate"}}))
    sp = arch.sparsity
    assert sp is not None and sp.density("Inputs") == 0.4 and sp.density("Weights") == 1.0
    assert sp.format_at("DRAM", "Weights") == TensorFormat("csr", fiber_words=9)
    assert sp.compute_zero == "gate" and sp.zero_at("DRAM", "Weights") == "gate"
    assert arch_from_native(_doc()).sparsity is None


@pytest.mark.parametrize("doc, field", [
    (_doc(densities={"Inputs": 1.5}), "densities"),
    (_doc(densities={"Psums": 0.5}), "densities"),
    (_doc(level={"formats": {"Inputs": "zip"}}), "formats"),
    (_doc(level={"formats": {"Inputs": {"format": "csr", "fiber_words": 0}}}), "fiber_words"),
    (_doc(level={"zero": {"Inputs": "drop"}}), "zero"),
    (_doc(compute={"zero": "maybe"}), "zero"),
    (_doc(gated_energy_fraction=-0.1), "gated_energy_fraction"),
])
def test_native_spec_refuses_bad_sparsity(doc: dict, field: str) -> None:
    with pytest.raises(StationaryError) as e:
        arch_from_native(doc)
    assert field in str(e.value) or field in (e.value.field or "")
