"""The schema of stationary's own architecture YAML (and its presets): every key, type and range, strictly.

`arch/native.py` validates a document in two steps: the raw level (its own keys plus an optional
`component:`, whose parameters are checked here before the component model reads them), then the level
with the component's fields merged in. Unknown keys are refused with the nearest known one, counts are
integers (2.5 PEs and `true` are no count), energies finite and >= 0, capacities and meshes bounded.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from stationary.arch.spec import MAX_INSTANCES, MAX_LEVELS, StorageKind
from stationary.schema import MAX_INT, EnergyPJ, Name, NonNegFloat, PosFloat, PosInt, Spec

TENSORS = ("Weights", "Inputs", "Outputs")  # the tensors of a layer's loop nest (Timeloop's names)
Kind = Literal[StorageKind.DRAM, StorageKind.BUFFER, StorageKind.RF]
"""A level's `kind`: the YAML strings are the StorageKind values (strict mode takes them as a Literal)."""

Tensor = Literal["Weights", "Inputs", "Outputs"]
TensorList = Annotated[list[Tensor], Field(max_length=len(TENSORS))]
Bits = Annotated[int, Field(ge=1, le=1024)]
"""A word width in bits."""
Mesh = Annotated[int, Field(ge=1, le=MAX_INSTANCES)]
"""One side of a mesh of instances."""
KiB = Annotated[float, Field(gt=0.0, le=float(MAX_INT), allow_inf_nan=False)]
"""A capacity in KiB (fractions allowed: 0.5 kB register files)."""
Text = Annotated[str, Field(max_length=200)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
"""A density or energy fraction in [0, 1]."""
FormatName = Literal["uncompressed", "bitmask", "rlc", "csr", "csc", "coo"]


class FormatSpec(Spec):
    """A tensor's compressed format at one level (model/sparsity.py); CSR/CSC take their fiber length."""

    format: FormatName
    fiber_words: Annotated[int, Field(ge=1, le=MAX_INT)] = 1
    run_bits: Annotated[int, Field(ge=1, le=32)] = 5


class CrossbarParams(Spec):
    """An analog crossbar macro (arch/components/crossbar.py); any key left out takes the model's default."""

    rows: PosInt | None = None
    cols: PosInt | None = None
    cell_bits: Annotated[int, Field(ge=1, le=8)] | None = None
    dac_bits: Annotated[int, Field(ge=1, le=8)] | None = None
    adc_bits: Annotated[int, Field(ge=1, le=16)] | None = None
    weight_bits: Bits | None = None
    input_bits: Bits | None = None
    adcs: PosInt | None = None
    exact: bool | None = None
    cell_read_fj: NonNegFloat | None = None
    cell_write_pj: EnergyPJ | None = None


class EdramComponent(Spec):
    """eDRAM buffer (arch/components/edram.py): sized directly or as the area of an SRAM it replaces."""

    type: Literal["edram"]
    size_kb: KiB | None = None
    sram_kb: KiB | None = None
    density_vs_sram: PosFloat | None = None
    sram_access_pj: EnergyPJ | None = None
    retention_us: PosFloat | None = None
    refresh_fj_per_bit: NonNegFloat | None = None
    extra_leak_pj: EnergyPJ | None = None


class DramComponent(Spec):
    """Off-chip or 3-D stacked DRAM (arch/components/stacked_dram.py)."""

    type: Literal["dram"]
    memory: Literal["hmc_vault", "hmc_external", "hbm2", "ddr3"] | None = None
    pj_per_bit: PosFloat | None = None
    vaults: PosInt | None = None
    channels: PosInt | None = None


class CrossbarComponent(CrossbarParams):
    """A crossbar's cells, its input DACs or its output ADCs (the architecture's `crossbar:` as defaults)."""

    type: Literal["crossbar", "dac", "adc"]
    crossbars: Annotated[int, Field(ge=1, le=MAX_INSTANCES)] | None = None


Component = Annotated[EdramComponent | DramComponent | CrossbarComponent, Field(discriminator="type")]

COMPONENT_TYPES = ("edram", "dram", "crossbar", "dac", "adc")


class LevelEnergy(Spec):
    """Per-access energies of one storage level in pJ: write defaults to read, update to write."""

    read_pj: EnergyPJ | None = None
    write_pj: EnergyPJ | None = None
    update_pj: EnergyPJ | None = None
    leak_pj: EnergyPJ = 0.0


class LevelSpec(Spec):
    """One storage level as written (after a component's fields are merged in)."""

    name: Name
    kind: Kind = StorageKind.BUFFER
    word_bits: Bits | None = None
    block_size: PosInt = 1
    depth: PosInt | None = None
    size_kb: KiB | None = None
    mesh_x: Mesh = 1
    mesh_y: Mesh = 1
    energy: LevelEnergy | None = None
    read_bandwidth: PosFloat | None = None
    write_bandwidth: PosFloat | None = None
    area_um2: NonNegFloat | None = None
    keep: TensorList | None = None
    bypass: TensorList | None = None
    must_keep: TensorList | None = None
    multicast: bool = True
    no_multicast: dict[Tensor, list[Literal["X", "Y"]]] | None = None  # per tensor, mesh axes it is not multicast on
    leak_instances: Literal["used", "all"] = "used"  # leakage on used instances (power-gated) or all
    formats: dict[Tensor, FormatName | FormatSpec] | None = None  # per tensor, how it is stored/moved here
    zero: dict[Tensor, Literal["gate", "skip"]] | None = None  # reads gated/skipped on the other operand's zero


class RawLevelSpec(LevelSpec):
    """A level before its component (if any) is applied: the same keys plus `component`."""

    component: Component | None = None


class ComputeSpec(Spec):
    """The MAC array: a mesh of MAC units, each with its energy (or the table's) and word width."""

    name: Name = "MAC"
    mesh_x: Mesh = 1
    mesh_y: Mesh = 1
    energy_pj: EnergyPJ | None = None
    word_bits: Bits | None = None
    area_um2: NonNegFloat | None = None
    zero: Literal["none", "gate", "skip"] = "none"  # MACs with a zero operand: gated or skipped


class RawComputeSpec(ComputeSpec):
    """The compute unit before its component (the crossbar's cells doing the MACs) is applied."""

    component: CrossbarComponent | None = None


class NativeArchSpec(Spec):
    """A whole native architecture: levels outermost first over the compute unit."""

    name: Name | None = None
    technology: Text = ""
    clock_mhz: PosFloat = 1000.0
    word_bits: Bits = 16
    energy_table: Literal["survey", "horowitz45"] = "horowitz45"
    densities: dict[Tensor, Fraction] | None = None  # expected nonzero fraction per tensor (1 = dense)
    gated_energy_fraction: Fraction = 0.0  # energy of a gated read or MAC relative to a performed one
    crossbar: CrossbarParams | None = None
    compute: dict[str, Any]
    levels: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=MAX_LEVELS)]


def component_params(value: Any) -> Any:
    """`component: edram` is shorthand for `component: {type: edram}`."""
    return {"type": value} if isinstance(value, str) else value


def without_unset(model: Spec) -> dict[str, Any]:
    """The fields a document actually gave (components and crossbars take their own defaults for the rest)."""
    return model.model_dump(exclude_none=True, exclude_unset=True)
