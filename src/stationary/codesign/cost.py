"""Sparsity- and precision-aware cost of one layer: a pure function of its loop nest, mapping, the
architecture's storage classes, measured densities and bit widths. docs/codesign.md states each rule with an
example.

Rules (W = a level's word width in bits, b = a tensor's value width, d = its density of non-zeros,
e = its stored bits per element incl. format metadata = compressed size / elements, f = d_weights * d_inputs):
  1. Off-chip and SRAM levels (DRAM, buffers) hold tensors compressed: every read, fill and update of Weights
     and Inputs moves e/W of a dense word, and costs e/W of its dense energy (energy per bit is constant).
     Outputs at the outermost level (final results written once) scale the same way with the outputs' e;
     elsewhere they are partial sums at the accumulator width W, neither compressed nor narrowed.
  2. Register files (per-PE levels) hold decoded values: Weights and Inputs move b/W of a word per access.
  3. Zero gating and skipping are the Model's (model/sparsity.py), not a rule of this module: the mapping is
     re-costed by the Model with the measured weight and input densities, every register file gating (or
     skipping) its reads on a zero of the other MAC operand and the MACs gated (or skipped) on a zero operand
     (f of them are performed). Gating saves energy, skipping cycles too (ideal load balance: a bound).
     "none": zeros are multiplied like any value (only storage is compressed). Rules 1, 2 and 4-7 then scale
     that Result.
  4. MAC energy scales with the operand widths as Horowitz's adder and multiplier do: the architecture's
     energy per MAC times mac_pj_mixed(b_w, b_a) / mac_pj_mixed(W_mac, W_mac); one MAC per cycle regardless.
  5. Cycles: the compute cycles of rule 3's Result, or a level's bandwidth-bound cycles scaled by its traffic
     ratio; leakage scales with cycles.
  6. Log-domain weights (a signed power of two): the multiplier becomes a shifter, the MAC a shift-add:
     mac_pj_shift = ADD(p) for the shifter (an assumption: a barrel shifter of p bits costed as a p-bit adder)
     + ADD(p) for the accumulation, p = min(b_a + largest shift, 32). With log activations too the exponents
     are added first: + ADD(b_w). A per-channel scale adds one full-width multiply per output element
     (`rescale_multiplies`), costed as one of the architecture's MACs.
  7. Codebook weights (k-means sharing): stored as indices, decoded by a 2^b-entry table lookup where they
     enter the register files (or, with no register file holding Weights, on every MAC's weight read); one
     lookup costs one read of a word of the innermost register file (an assumption: EIE keeps the codebook in
     a small register array beside each PE, Han et al. ISCA 2016). The MAC then works on the decoded
     full-width weight. Off-chip (the outermost level) Weights may have their own stored size
     (`offchip_bits_per_element`: Huffman-coded for DRAM, Deep Compression Sec. 4); the decode of the Huffman
     code is not costed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from stationary.arch import energy as tables
from stationary.arch.spec import Architecture
from stationary.errors import StationaryError
from stationary.mapping.mapping import Mapping
from stationary.model.evaluate import evaluate
from stationary.model.result import Result
from stationary.model.sparsity import Sparsity
from stationary.workload.loopnest import LoopNest

OPERANDS = ("Weights", "Inputs")
WEIGHT_CODES = ("uniform", "log", "log_scaled", "kmeans")


class ZeroMode(StrEnum):
    """What the PEs do with a zero operand (survey Sec. VII-B)."""

    NONE = "none"
    GATING = "gating"
    SKIPPING = "skipping"


@dataclass(frozen=True)
class TensorData:
    """How one tensor is stored: density of non-zeros, value width, stored bits per element (incl. metadata)."""

    density: float
    value_bits: int
    stored_bits_per_element: float
    offchip_bits_per_element: float | None = None  # at the outermost level, if stored differently there

    def __post_init__(self) -> None:
        check_bits(self.value_bits, "value_bits")
        if not 0.0 <= self.density <= 1.0:
            raise StationaryError(f"density must be in [0, 1], got {self.density}", field="density")
        off = self.offchip_bits_per_element
        if not self.stored_bits_per_element >= 0 or (off is not None and not off >= 0):
            raise StationaryError("stored bits per element must be non-negative", field="stored_bits_per_element")

    @staticmethod
    def dense(value_bits: int, density: float = 1.0) -> TensorData:
        """Stored uncompressed at `value_bits` per element (zeros still gate/skip by `density`)."""
        return TensorData(density, value_bits, float(value_bits))


@dataclass(frozen=True)
class LayerData:
    """The three tensors of one layer as stored and computed."""

    weights: TensorData
    inputs: TensorData
    outputs: TensorData
    weight_code: str = "uniform"  # uniform | log | log_scaled | kmeans (rules 6, 7)
    act_log: bool = False  # log-domain activations (rule 6)
    rescale_multiplies: int = 0  # per-output scale multiplies of log_scaled weights (rule 6)

    def __post_init__(self) -> None:
        if self.weight_code not in WEIGHT_CODES:
            raise StationaryError(f"unknown weight code {self.weight_code!r}; codes: {', '.join(WEIGHT_CODES)}",
                                  field="weight_code")

    def of(self, tensor: str) -> TensorData:
        return {"Weights": self.weights, "Inputs": self.inputs, "Outputs": self.outputs}[tensor]


@dataclass(frozen=True)
class LayerCost:
    """Sparse/low-precision cost of one layer, with the per-level split (pJ) and the dense reference."""

    energy_pj: float
    cycles: int
    compute_energy_pj: float
    level_energy_pj: dict[str, float]
    dense_energy_pj: float
    dense_cycles: int
    effectual_mac_fraction: float
    decode_energy_pj: float = 0.0  # codebook lookups (rule 7), included in energy_pj


def check_bits(bits: int, field: str = "bits") -> None:
    """Bit widths this toolkit models: 1..16."""
    if not isinstance(bits, int) or isinstance(bits, bool) or not 1 <= bits <= 16:
        raise StationaryError(f"bit width must be an integer in 1..16, got {bits!r}", field=field)


def mac_pj_mixed(weight_bits: int, act_bits: int) -> float:
    """Horowitz integer MAC with different operand widths: multiplier ~ b_w*b_a, adder ~ max(b_w, b_a)."""
    mult = tables.HOROWITZ_INT_MULT[8] * weight_bits * act_bits / 64
    add = tables.HOROWITZ_INT_ADD[8] * max(weight_bits, act_bits) / 8
    return mult + add


def mac_pj_shift(weight_bits: int, act_bits: int, log_acts: bool = False) -> float:
    """Rule 6: a shift-add MAC with a b_w-bit log weight (sign + exponent code): shifter and adder of the
    product width p = min(b_a + 2^(b_w-1) - 2, 32), plus an exponent adder when activations are log too."""
    p = min(act_bits + 2 ** (weight_bits - 1) - 2, 32)
    add = tables.HOROWITZ_INT_ADD[8] / 8
    return 2 * add * p + (add * weight_bits if log_acts else 0.0)


def codebook_lookups(dense: Result, arch: Architecture) -> float:
    """Rule 7: weight words decoded per inference: fills of the outermost register file keeping Weights, or
    the Weights reads of the innermost level keeping them when no register file does."""
    classes = {lv.name: lv.cls for lv in arch.levels}
    kept = [lv for lv in dense.levels if "Weights" in lv.tensors and lv.tensors["Weights"].kept]
    for lv in kept:
        if classes[lv.name] == "regfile":
            return float(lv.tensors["Weights"].fills)
    return float(kept[-1].tensors["Weights"].reads) if kept else 0.0


def lookup_pj(arch: Architecture) -> float:
    """Rule 7: one codebook lookup = one word read of the innermost register file (else the innermost level)."""
    rfs = [lv for lv in arch.levels if lv.cls == "regfile"]
    return (rfs[-1] if rfs else arch.levels[-1]).energy.read_pj


def zero_sparsity(arch: Architecture, data: LayerData, mode: ZeroMode | str) -> Sparsity | None:
    """Rule 3 as the Model's sparsity: the layer's weight and input densities, every register file gating (or
    skipping) its reads on the other operand's zero, and the MACs gated (or skipped); None for "none"."""
    mode = ZeroMode(mode)
    if mode is ZeroMode.NONE:
        return None
    action = "gate" if mode is ZeroMode.GATING else "skip"
    zero = tuple((lv.name, t, action) for lv in arch.levels if lv.cls == "regfile"
                 for t in ("Weights", "Inputs", "Outputs"))
    return Sparsity((("Weights", data.weights.density), ("Inputs", data.inputs.density)), level_zero=zero,
                    compute_zero=action)


def layer_cost(nest: LoopNest, mapping: Mapping, arch: Architecture, data: LayerData,
               mode: ZeroMode | str = ZeroMode.GATING) -> LayerCost:
    """The layer's cost under `mapping` by the rules in this module's docstring: the Model's dense and zero-gated
    (or skipped) Results (rule 3), then scaled for storage, widths and weight codes."""
    mode = ZeroMode(mode)
    if arch.sparsity is not None:
        raise StationaryError(f"architecture {arch.name} carries its own densities and formats; co-design measures "
                              "them from the model: use a dense architecture", field="arch")
    dense = evaluate(nest, arch, mapping)
    sp = zero_sparsity(arch, data, mode)
    base = dense if sp is None else evaluate(nest, replace(arch, sparsity=sp), mapping)
    f = data.weights.density * data.inputs.density if mode is not ZeroMode.NONE else 1.0
    classes = {lv.name: lv.cls for lv in arch.levels}
    cycles: float = base.compute_cycles
    level_energy: dict[str, float] = {}
    scaled_levels = []
    for i, lv in enumerate(base.levels):
        if lv.name not in classes:
            raise StationaryError(f"result level {lv.name!r} is not in architecture {arch.name}")
        register_file = classes[lv.name] == "regfile"
        dyn = 0.0
        words = scaled_words = 0.0
        for name, tc in lv.tensors.items():
            if not tc.kept:
                continue
            scale = _storage_scale(name, data, lv.word_bits, register_file, i == 0)
            total = tc.reads + tc.fills + tc.updates
            dyn += tc.energy_pj * scale
            words += total
            scaled_words += total * scale
        if lv.cycles > base.compute_cycles:  # bandwidth-bound
            cycles = max(cycles, lv.cycles * (scaled_words / words if words else 0.0))
        scaled_levels.append((lv, dyn))
    cycles_int = int(round(cycles)) if cycles else 0
    ratio = cycles_int / base.cycles if base.cycles else 0.0
    for lv, dyn in scaled_levels:
        level_energy[lv.name] = dyn + lv.leak_energy_pj * ratio
    mac_bits = arch.compute.word_bits
    b_w, b_a = data.weights.value_bits, data.inputs.value_bits
    if data.weight_code in ("log", "log_scaled"):
        per_mac = mac_pj_shift(b_w, b_a, data.act_log)
    else:
        per_mac = mac_pj_mixed(b_w, b_a)
    compute = base.compute_energy_pj * per_mac / mac_pj_mixed(mac_bits, mac_bits)
    compute += data.rescale_multiplies * arch.compute.energy_pj
    decode = codebook_lookups(dense, arch) * lookup_pj(arch) if data.weight_code == "kmeans" else 0.0
    return LayerCost(
        energy_pj=compute + decode + sum(level_energy.values()), cycles=cycles_int, compute_energy_pj=compute,
        level_energy_pj=level_energy, dense_energy_pj=dense.energy_pj, dense_cycles=dense.cycles,
        effectual_mac_fraction=f, decode_energy_pj=decode)


def _storage_scale(tensor: str, data: LayerData, word_bits: int, register_file: bool, outermost: bool) -> float:
    """Fraction of a dense word one access of `tensor` moves at this level (rules 1 and 2)."""
    t = data.of(tensor)
    if tensor == "Outputs":
        return t.stored_bits_per_element / word_bits if outermost else 1.0
    if register_file:
        return t.value_bits / word_bits
    if outermost and t.offchip_bits_per_element is not None:
        return t.offchip_bits_per_element / word_bits
    return t.stored_bits_per_element / word_bits
