"""An analog (ReRAM) crossbar macro: weights as cell conductances, inputs through DACs on the rows, column
currents summed in place and digitised by ADCs. Energy per DAC/ADC conversion, per cell MAC, area, and
the ADC precision an exact dot product needs.

Sources (docs/neardata.md; ISAAC's Table figures recalled from the paper, 32 nm, not re-read here):
* ISAAC (Shafiee et al., ISCA 2016) per IMA: 8 ADCs (8 bit, 1.2 GS/s) 16 mW and 0.0096 mm^2, so 2 mW and
  1,200 um^2 per ADC and 2 mW / 1.2 GS/s = 1.67 pJ per conversion; 8 x 128 one-bit DACs 4 mW and 0.00017 mm^2,
  at one conversion per 100 ns crossbar read = 0.39 pJ and 0.17 um^2 each; 8 crossbars of 128 x 128 two-bit
  cells 2.4 mW and 0.0002 mm^2, i.e. 30 pJ per 100 ns array read = 1.83 fJ per cell read, 0.0015 um^2 per cell.
* ADC energy per conversion doubles per bit of resolution (Walden figure of merit, E = FOM * 2^ENOB; Murmann's
  ADC survey shows this holds for the low-resolution, high-speed ADCs used here and that above ~10 bits the
  thermal-noise limit makes it ~4x per bit). Area is scaled the same way (assumption).
* DAC energy and area grow with its number of output levels, 2^b - 1 (assumption: the row is driven to one of
  2^b - 1 non-zero levels).
* ReRAM cell programming: 10 pJ per cell write (assumption: ~100 uA at 2 V for 50 ns, the order of published
  SET/RESET energies).
* Shift-and-add after each conversion: a Horowitz 45 nm integer add of the output width (arch/energy.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from stationary.arch.energy import HOROWITZ_INT_ADD
from stationary.arch.spec import ActionEnergy
from stationary.errors import StationaryError

ISAAC_ADC_BITS = 8
ISAAC_ADC_PJ = 2.0 / 1.2  # 2 mW at 1.2 GS/s, pJ per conversion
ISAAC_ADC_UM2 = 0.0096e6 / 8  # 1,200 um^2 per ADC
ISAAC_DAC_PJ_1BIT = 4.0e-3 / 1024 * 100e-9 * 1e12  # 4 mW over 1,024 DACs, one conversion per 100 ns
ISAAC_DAC_UM2_1BIT = 0.00017e6 / 1024
ISAAC_CELL_READ_FJ = 2.4e-3 / 8 * 100e-9 / (128 * 128) * 1e15  # 2.4 mW over 8 arrays, per cell per read
ISAAC_CELL_UM2 = 0.0002e6 / (8 * 128 * 128)
ISAAC_READ_NS = 100.0  # one crossbar read (one input bit-slice)
CELL_WRITE_PJ = 10.0  # programming one cell (assumption, see module docstring)
ADC_ENERGY_GROWTH_PER_BIT = 2.0  # Walden: energy per conversion doubles per bit


def adc_energy_pj(bits: int) -> float:
    """Energy of one conversion at `bits` of resolution: ISAAC's 8-bit ADC scaled by 2x per bit (Walden)."""
    _bits(bits, "adc_bits", 16)
    return ISAAC_ADC_PJ * ADC_ENERGY_GROWTH_PER_BIT ** (bits - ISAAC_ADC_BITS)


def adc_area_um2(bits: int) -> float:
    """Area of one ADC at `bits`: ISAAC's 8-bit ADC scaled by 2x per bit (assumption)."""
    _bits(bits, "adc_bits", 16)
    return ISAAC_ADC_UM2 * 2.0 ** (bits - ISAAC_ADC_BITS)


def dac_energy_pj(bits: int) -> float:
    """Energy of one DAC conversion: ISAAC's 1-bit DAC times the number of non-zero levels, 2^bits - 1."""
    _bits(bits, "dac_bits", 8)
    return ISAAC_DAC_PJ_1BIT * (2**bits - 1)


def dac_area_um2(bits: int) -> float:
    """Area of one DAC: ISAAC's 1-bit DAC times 2^bits - 1 (assumption)."""
    _bits(bits, "dac_bits", 8)
    return ISAAC_DAC_UM2_1BIT * (2**bits - 1)


def adc_bits_required(rows: int, dac_bits: int, cell_bits: int) -> int:
    """Bits an ADC needs to resolve a column sum exactly: the largest sum is rows * (2^dac - 1) * (2^cell - 1).

    E.g. 128 rows, 1-bit inputs, 2-bit cells: 384 -> 9 bits (ISAAC's log2(R) + v + w - 1; its weight-flipping
    encoding saves one more bit, which this model does not assume).
    """
    _bits(dac_bits, "dac_bits", 8)
    _bits(cell_bits, "cell_bits", 8)
    if not isinstance(rows, int) or rows < 1:
        raise StationaryError(f"rows must be a positive integer, got {rows!r}", field="rows")
    largest = rows * (2**dac_bits - 1) * (2**cell_bits - 1)
    return max(1, math.ceil(math.log2(largest + 1)))


def _bits(value: int, field: str, limit: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= limit:
        raise StationaryError(f"must be an integer number of bits in 1..{limit}, got {value!r}", field=field)


@dataclass(frozen=True)
class CrossbarSpec:
    """One crossbar macro: rows x cols cells of `cell_bits`, `dac_bits` DACs per row, `adcs` shared ADCs.

    A `weight_bits` weight spans ceil(weight_bits / cell_bits) adjacent columns; a `input_bits` input is fed
    in ceil(input_bits / dac_bits) bit-slices, each one crossbar read; every (input slice, weight slice)
    column sum is one ADC conversion, shifted and added into the output. With `exact`, an ADC below
    `adc_bits_required` is an error; otherwise its low `adc_lost_bits` bits of every column sum are lost.
    """

    rows: int = 128
    cols: int = 128
    cell_bits: int = 2
    dac_bits: int = 1
    adc_bits: int = 9
    weight_bits: int = 16
    input_bits: int = 16
    adcs: int = 1  # ADCs per crossbar, time-shared over its columns (ISAAC: 1 per 128 columns)
    exact: bool = True
    cell_read_fj: float = ISAAC_CELL_READ_FJ
    cell_write_pj: float = CELL_WRITE_PJ

    def __post_init__(self) -> None:
        for name in ("rows", "cols", "adcs", "weight_bits", "input_bits"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise StationaryError(f"crossbar {name} must be a positive integer, got {v!r}", field=name)
        _bits(self.cell_bits, "cell_bits", 8)
        _bits(self.dac_bits, "dac_bits", 8)
        _bits(self.adc_bits, "adc_bits", 16)
        if self.cols < self.weight_slices:
            raise StationaryError(
                f"crossbar too small for any tile: a {self.weight_bits}-bit weight needs {self.weight_slices} "
                f"columns of {self.cell_bits}-bit cells, the crossbar has {self.cols}", field="cols")
        if self.exact and self.adc_bits < self.adc_bits_required:
            raise StationaryError(
                f"a {self.adc_bits}-bit ADC cannot resolve a column sum of {self.rows} rows x {self.dac_bits}-bit "
                f"inputs x {self.cell_bits}-bit cells exactly: it needs {self.adc_bits_required} bits "
                f"(or set exact: false to accept losing {self.adc_bits_required - self.adc_bits} low bits)",
                field="adc_bits")
        for name in ("cell_read_fj", "cell_write_pj"):
            if not getattr(self, name) >= 0:
                raise StationaryError(f"{name} must be non-negative", field=name)

    @property
    def weight_slices(self) -> int:
        """Columns one weight occupies."""
        return math.ceil(self.weight_bits / self.cell_bits)

    @property
    def input_slices(self) -> int:
        """Crossbar reads (DAC conversions) one input needs."""
        return math.ceil(self.input_bits / self.dac_bits)

    @property
    def weights_per_row(self) -> int:
        """Whole weights along one row: the crossbar's logical columns (its output channels)."""
        return self.cols // self.weight_slices

    @property
    def adc_bits_required(self) -> int:
        return adc_bits_required(self.rows, self.dac_bits, self.cell_bits)

    @property
    def adc_lost_bits(self) -> int:
        """Low-order bits of every column sum that the ADC cannot resolve (0 when exact)."""
        return max(0, self.adc_bits_required - self.adc_bits)

    @property
    def cycle_ns(self) -> float:
        """Time for one full-precision crossbar operation: one 100 ns read per input slice (ISAAC)."""
        return ISAAC_READ_NS * self.input_slices

    def dac_energy(self, holding_pj: float = 0.0) -> ActionEnergy:
        """Per input word delivered to a row: one DAC conversion per input slice (multicast along the row);
        the input register it is read from costs `holding_pj` per read and per fill."""
        return ActionEnergy(read_pj=self.input_slices * dac_energy_pj(self.dac_bits) + holding_pj,
                            write_pj=holding_pj, update_pj=holding_pj)

    def adc_energy(self, output_bits: int, holding_pj: float = 0.0) -> ActionEnergy:
        """Per output update (one reduced column sum per weight): a conversion per input and weight slice, each
        shifted and added into an `output_bits` accumulator; reads/fills of the output register cost
        `holding_pj`."""
        shift_add = HOROWITZ_INT_ADD[8] * output_bits / 8
        update = self.input_slices * self.weight_slices * (adc_energy_pj(self.adc_bits) + shift_add)
        return ActionEnergy(read_pj=holding_pj, write_pj=holding_pj, update_pj=update + holding_pj)

    def cell_energy(self) -> ActionEnergy:
        """Per weight programmed into the cells (a fill): every cell of the weight is written once."""
        return ActionEnergy(read_pj=0.0, write_pj=self.weight_slices * self.cell_write_pj)

    def mac_pj(self) -> float:
        """One full-precision MAC in the array: every cell of the weight is read once per input slice."""
        return self.input_slices * self.weight_slices * self.cell_read_fj * 1e-3

    def array_area_um2(self) -> float:
        """Cells of one crossbar (ISAAC's cell area)."""
        return self.rows * self.cols * ISAAC_CELL_UM2

    def dac_area_um2(self) -> float:
        """All row DACs of one crossbar."""
        return self.rows * dac_area_um2(self.dac_bits)

    def adc_area_um2(self) -> float:
        """All ADCs of one crossbar."""
        return self.adcs * adc_area_um2(self.adc_bits)

    def area_um2(self) -> float:
        """One crossbar macro: cells, DACs, ADCs (peripheral area dominates: see docs/neardata.md)."""
        return self.array_area_um2() + self.dac_area_um2() + self.adc_area_um2()
