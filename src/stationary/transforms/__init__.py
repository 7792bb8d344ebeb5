"""Computation transforms (survey Sec. V-B): im2col/Toeplitz, Winograd, FFT and Strassen.

Executable NumPy kernels checked against direct convolution, exact operation counts, timings, a roofline.
"""

from stationary.transforms.counts import OpCounts, count
from stationary.transforms.methods import DEFAULT_METHODS, Options, applicable, convolve, require
from stationary.transforms.spec import ConvSpec, random_operands, spec_of

__all__ = [
           "DEFAULT_METHODS",
           "ConvSpec",
           "OpCounts",
           "Options",
           "applicable",
           "convolve",
           "count",
           "random_operands",
           "require",
           "spec_of",
]
