"""Exponential and logarithm for the compiled engine, written so that the compiler can run
them in vector instructions across samples.

Numba calls the C library's scalar ``exp`` and ``log`` one sample at a time, which would take
half of the engine's time. These are the classic fdlibm algorithms (Sun Microsystems,
``e_exp.c`` and ``e_log.c``, 1993: range reduction by ln 2 and a rational or polynomial
approximation, error below one unit in the last place) in straight-line arithmetic: the
power of two is built from its bits rather than by ``ldexp``. numpy's own functions are
within a few units in the last place of the exact value too, so the engines agree far inside
the 1e-9 the tests ask. NaN, infinities, zeros, negative arguments of ``log``, overflow and
underflow give what numpy gives.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic


@intrinsic
def float_bits(typingctx, x):
    """The 64 bits of a float64, as an int64."""
    if x != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def bits_float(typingctx, x):
    """The float64 whose 64 bits are the int64 ``x``."""
    if x != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


# constants of fdlibm's e_exp.c and e_log.c (their bits, not fitted here)
ROUND = 6755399441055744.0
"""1.5 x 2^52: an integer-valued float plus ROUND holds the integer in its low bits."""
ROUND_BITS = 0x4338000000000000
LOG2E = 1.44269504088896338700e+00
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
P1 = 1.66666666666666019037e-01
P2 = -2.77777777770155933842e-03
P3 = 6.61375632143793436117e-05
P4 = -1.65339022054652515390e-06
P5 = 4.13813679705723846039e-08
LG1 = 6.666666666666735130e-01
LG2 = 3.999999999940941908e-01
LG3 = 2.857142874366239149e-01
LG4 = 2.222219843214978396e-01
LG5 = 1.818357216161805012e-01
LG6 = 1.531383769920937332e-01
LG7 = 1.479819860511658591e-01
SQRT2 = 1.41421356237309514547
TWO54 = 1.80143985094819840000e+16
SMALLEST_NORMAL = 2.2250738585072014e-308
MANTISSA = 0x000FFFFFFFFFFFFF
ONE_BITS = 0x3FF0000000000000
EXP_HIGH, EXP_LOW = 710.0, -746.0
"""Beyond these exp overflows to infinity or underflows to zero."""


@njit(error_model="numpy", cache=True)
def power_of_two(k):
    """2^k for an integer-valued float k within the exponents of normal float64 numbers."""
    return bits_float((float_bits(k + ROUND) - ROUND_BITS + 1023) << 52)


@njit(error_model="numpy", cache=True)
def fexp(x):
    """e^x as numpy's exp, in vectorisable arithmetic."""
    xc = x if x == x else 0.0
    xc = EXP_HIGH if xc > EXP_HIGH else xc
    xc = EXP_LOW if xc < EXP_LOW else xc
    k = np.floor(xc * LOG2E + 0.5)
    hi = xc - k * LN2_HI
    lo = k * LN2_LO
    r = hi - lo
    t = r * r
    c = r - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))))
    y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi)
    half = np.floor(k * 0.5)  # two factors, so that neither leaves the normal range
    out = y * power_of_two(half) * power_of_two(k - half)
    return x if x != x else out


@njit(error_model="numpy", cache=True)
def flog(x):
    """Natural logarithm as numpy's log, in vectorisable arithmetic."""
    small = x < SMALLEST_NORMAL
    xs = x * TWO54 if small else x
    bits = float_bits(xs)
    exponent = ((bits >> 52) & 0x7FF) - 1023 - (54 if small else 0)
    m = bits_float((bits & MANTISSA) | ONE_BITS)
    big = m > SQRT2
    m = m * 0.5 if big else m
    exponent = exponent + 1 if big else exponent
    k = bits_float(exponent + ROUND_BITS) - ROUND
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (LG2 + w * (LG4 + w * LG6))
    t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)))
    r = t2 + t1
    hfsq = 0.5 * f * f
    out = k * LN2_HI - ((hfsq - (s * (hfsq + r) + k * LN2_LO)) - f)
    out = np.nan if x < 0.0 else out
    out = -np.inf if x == 0.0 else out
    return x if (x != x) | (x == np.inf) else out
