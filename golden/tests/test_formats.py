"""Element formats against ml_dtypes (an independent implementation) and the OCP rules."""

import ml_dtypes
import numpy as np
import pytest

from golden import facts, formats
from golden.formats import decode, encode, max_value

ML = {
    "e2m1": ml_dtypes.float4_e2m1fn, "e2m3": ml_dtypes.float6_e2m3fn,
    "e3m2": ml_dtypes.float6_e3m2fn, "e4m3": ml_dtypes.float8_e4m3fn,
    "e5m2": ml_dtypes.float8_e5m2, "e8m0": ml_dtypes.float8_e8m0fnu,
}
FLOAT_FORMATS = ["e2m1", "e2m3", "e3m2", "e4m3", "e5m2"]
SATURATING_IN_ML = {"e2m1", "e2m3", "e3m2"}   # ml_dtypes saturates these; E4M3/E5M2 overflow to NaN/Inf


def ml_encode(x, fmt):
    return np.asarray(x, np.float64).astype(ML[fmt]).view(np.uint8)


def ours_like_ml(x, fmt):
    return encode(x, fmt, saturate=fmt in SATURATING_IN_ML)


def all_codes(fmt):
    return np.arange(1 << formats.format_info(fmt).width)


@pytest.mark.parametrize("fmt", list(ML))
def test_every_code_decodes_as_ml_dtypes(fmt):
    codes = all_codes(fmt).astype(np.uint8)
    expected = codes.view(ML[fmt]).astype(np.float64)
    np.testing.assert_array_equal(decode(codes, fmt), expected)


@pytest.mark.parametrize("fmt", FLOAT_FORMATS)
def test_every_non_nan_code_round_trips(fmt):
    codes = all_codes(fmt)
    values = decode(codes, fmt)
    keep = ~np.isnan(values)
    np.testing.assert_array_equal(encode(values[keep], fmt, saturate=False), codes[keep])


@pytest.mark.parametrize("fmt", FLOAT_FORMATS)
def test_every_midpoint_and_its_neighbours_round_as_ml_dtypes(fmt):
    v = np.unique(np.abs(decode(all_codes(fmt), fmt)))
    v = v[np.isfinite(v)]
    mids = ((v[:-1] + v[1:]) / 2).astype(np.float32)          # exact: at most mbits + 1 bits
    # Neighbours in float32: where ml_dtypes versions agree (see the next test).
    probes = np.concatenate([mids, np.nextafter(mids, np.float32(0)), np.nextafter(mids, np.float32(np.inf))])
    probes = np.concatenate([probes, -probes])
    np.testing.assert_array_equal(ours_like_ml(probes, fmt), ml_encode(probes, fmt))


def test_float64_just_below_a_tie_rounds_once():
    """encode rounds the float64 value itself once, never through an intermediate format.

    (Some ml_dtypes releases cast float64 via float32, which lands these inputs on the tie;
    the cross-checks against ml_dtypes therefore use float32 inputs only, where both agree.)
    """
    below_tie = np.nextafter(0.25, 0.0)          # E2M1 midpoint between 0 and 0.5, minus 1 ulp (f64)
    assert encode([below_tie], "e2m1").tolist() == [0x0]
    assert encode([np.nextafter(0.75, 0.0)], "e2m1").tolist() == [0x1]   # nearest is 0.5, not the tie's 1.0
    assert encode([np.nextafter(0.75, 1.0)], "e2m1").tolist() == [0x2]
    assert encode([np.nextafter(np.float64(464.0), 0.0)], "e4m3", saturate=False).tolist() == [0x7E]   # 448


@pytest.mark.parametrize("fmt", FLOAT_FORMATS)
def test_random_values_over_all_binades_match_ml_dtypes(fmt, rng):
    x = (rng.standard_normal(100_000) * np.exp2(rng.integers(-30, 30, 100_000))).astype(np.float32)
    np.testing.assert_array_equal(ours_like_ml(x, fmt), ml_encode(x, fmt))


@pytest.mark.parametrize("fmt", [*FLOAT_FORMATS, "e8m0"])
@pytest.mark.parametrize("rounding", formats.ROUNDING_MODES)
@pytest.mark.parametrize("saturate", [True, False])
def test_fast_path_equals_table_definition(fmt, rounding, saturate, rng):
    info = formats.format_info(fmt)
    a = np.abs(rng.standard_normal(20_000)) * np.exp2(rng.integers(-140, 140, 20_000))
    a = np.concatenate([a, [0.0, np.inf, 5e-324, 1.7e308]])
    definition = formats._encode_magnitude_by_table(a, info, rounding, saturate)
    if (definition == formats._UNREPRESENTABLE).any():
        with pytest.raises(ValueError):
            encode(a, fmt, rounding=rounding, saturate=saturate)
        a = a[definition != formats._UNREPRESENTABLE]
        definition = definition[definition != formats._UNREPRESENTABLE]
    np.testing.assert_array_equal(encode(a, fmt, rounding=rounding, saturate=saturate), definition)


@pytest.mark.parametrize("rounding, x, expected", [
    ("rne", [0.25, 0.75, 1.25, 2.5, 5.0, -0.25], [0.0, 1.0, 1.0, 2.0, 4.0, -0.0]),
    ("rna", [0.25, 0.75, 1.25, 2.5, 5.0, -0.25], [0.5, 1.0, 1.5, 3.0, 6.0, -0.5]),
    ("rtz", [0.49, 0.99, 1.49, 5.99, 100.0, -2.9], [0.0, 0.5, 1.0, 4.0, 6.0, -2.0]),
])
def test_e2m1_rounding_modes(rounding, x, expected):
    got = decode(encode(x, "e2m1", rounding=rounding), "e2m1")
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(expected))


@pytest.mark.parametrize("fmt, big, sat_code, nonsat_code", [
    ("e4m3", 465.0, 0x7E, 0x7F),      # beyond max + half ulp: saturate to 448, else NaN
    ("e5m2", 61440.0, 0x7B, 0x7C),    # the tie above 57344 rounds to even = Inf
    ("e2m1", 7.0, 0x7, None),
])
def test_overflow_saturates_or_becomes_special(fmt, big, sat_code, nonsat_code):
    assert encode([big, np.inf], fmt).tolist() == [sat_code, sat_code]
    sign = 1 << (formats.format_info(fmt).width - 1)
    assert encode([-big], fmt).tolist() == [sat_code | sign]
    if nonsat_code is None:
        with pytest.raises(ValueError, match="e2m1"):
            encode([big], fmt, saturate=False)
    else:
        assert encode([big], fmt, saturate=False).tolist() == [nonsat_code]


def test_values_at_max_plus_less_than_half_ulp_round_to_max():
    assert encode([464.0], "e4m3", saturate=False).tolist() == [0x7E]   # tie to even mantissa 110
    assert encode([7.0 - 1e-9], "e2m1", saturate=False).tolist() == [0x7]


@pytest.mark.parametrize("fmt, code", [("e4m3", 0x7F), ("e5m2", 0x7E)])
def test_nan_keeps_its_sign(fmt, code):
    assert encode([np.nan, -np.nan], fmt).tolist() == [code, code | 0x80]


@pytest.mark.parametrize("fmt", ["e2m1", "e2m3", "e3m2", "int8", "int4"])
def test_nan_into_a_format_without_nan_is_an_error(fmt):
    with pytest.raises(ValueError, match="NaN"):
        encode([1.0, np.nan], fmt)


def test_e5m2_infinity_passes_through_without_saturation():
    assert encode([np.inf, -np.inf], "e5m2", saturate=False).tolist() == [0x7C, 0xFC]
    assert decode([0x7C, 0xFC], "e5m2").tolist() == [np.inf, -np.inf]


def test_e8m0_powers_of_two_ties_up_and_bad_values():
    assert encode([1.0, 2.0 ** -127, 2.0 ** 127, 3.0, 1.5], "e8m0").tolist() == [127, 0, 254, 129, 128]
    assert encode([0.0], "e8m0").tolist() == [0]
    assert np.isnan(decode([255], "e8m0")[0])
    with pytest.raises(ValueError, match="positive"):
        encode([-1.0], "e8m0")
    with pytest.raises(ValueError, match="zero without saturation"):
        encode([0.0], "e8m0", saturate=False)
    x = np.exp2(np.linspace(-125.9, 126.5, 5001))   # ml_dtypes goes via float32: stay normal
    np.testing.assert_array_equal(encode(x, "e8m0"), ml_encode(x, "e8m0"))


@pytest.mark.parametrize("bits", range(2, 9))
def test_int_codes_are_twos_complement(bits):
    codes = np.arange(1 << bits)
    expected = np.where(codes >= 1 << (bits - 1), codes - (1 << bits), codes)
    np.testing.assert_array_equal(decode(codes, f"int{bits}"), expected)
    np.testing.assert_array_equal(encode(expected, f"int{bits}"), codes)


def test_int_rounding_and_saturation():
    assert decode(encode([2.5, 3.5, -2.5, 0.5], "int8"), "int8").tolist() == [2, 4, -2, 0]
    assert decode(encode([2.5, -2.5], "int8", rounding="rna"), "int8").tolist() == [3, -3]
    assert decode(encode([200, -200, np.inf], "int8"), "int8").tolist() == [127, -128, 127]
    with pytest.raises(ValueError, match="overflow"):
        encode([200], "int8", saturate=False)


@pytest.mark.parametrize("fmt, expected", [("e2m1", 6), ("e2m3", 7.5), ("e3m2", 28), ("e4m3", 448),
                                           ("e5m2", 57344), ("e8m0", 2.0 ** 127), ("int4", 7)])
def test_max_values(fmt, expected):
    assert max_value(fmt) == expected


def test_bad_arguments_name_the_value():
    with pytest.raises(ValueError, match="'fp7'"):
        encode([1.0], "fp7")
    with pytest.raises(ValueError, match="'nearest'"):
        encode([1.0], "e4m3", rounding="nearest")
    with pytest.raises(ValueError, match="out of range"):
        decode([16], "e2m1")
    with pytest.raises(ValueError, match="integers"):
        decode([1.5], "e4m3")
    with pytest.raises(ValueError, match=r"x is complex \(complex128\)"):
        encode([1 + 1j], "e4m3")
    with pytest.raises(ValueError, match="real numbers"):
        encode(["1.0"], "e4m3")


@pytest.mark.parametrize("fmt", sorted(facts.FLOAT_FORMATS))
def test_shared_max_code_is_the_code_the_encoder_gives_the_largest_value(fmt):
    """golden.facts (what the hardware reads) and the table-driven encoder agree on ±max."""
    info = facts.FLOAT_FORMATS[fmt]
    assert int(formats.encode([formats.max_value(fmt)], fmt)[0]) == facts.max_magnitude_code(info)


# --- other spellings of the formats, packed FP4, dequantize(dtype=...) ------------------------

ML_NAMES = ["float4_e2m1fn", "float6_e2m3fn", "float6_e3m2fn", "float8_e4m3fn", "float8_e5m2", "float8_e8m0fnu"]


@pytest.mark.parametrize("name", ML_NAMES)
def test_an_ml_dtypes_name_or_dtype_is_the_format_bit_for_bit(name):
    """Every code decodes under the alias (string, scalar type, np.dtype) as ml_dtypes decodes it."""
    dtype = np.dtype(getattr(ml_dtypes, name))
    codes = np.arange(1 << int(name[5])).astype(np.uint8)          # float4_... has 16 codes, float8_... 256
    expected = codes.view(dtype).astype(np.float64)
    for spelling in (name, getattr(ml_dtypes, name), dtype, f"torch.{name}"):
        np.testing.assert_array_equal(decode(codes, spelling), expected)


@pytest.mark.parametrize("alias", ["fp4", "fp4_e2m1", "fp6_e2m3", "fp6_e3m2", "fp8_e4m3", "fp8_e5m2", "e4m3fn", "E4M3"])
def test_a_microxcaling_name_has_the_exponent_and_mantissa_it_says(alias):
    info = formats.format_info(alias)
    ebits, mbits = (2, 1) if alias == "fp4" else map(int, alias.lower().split("e")[-1].replace("fn", "").split("m"))
    assert (info.ebits, info.mbits) == (ebits, mbits)


def test_integer_dtypes_name_the_integer_formats():
    assert formats.canonical_format(np.int8) == "int8" and formats.canonical_format(ml_dtypes.int4) == "int4"
    np.testing.assert_array_equal(decode(np.array([0x7, 0x8, 0xF]), ml_dtypes.int4), [7, -8, -1])


@pytest.mark.parametrize("name, difference", [("float8_e4m3", "with infinities"), ("float8_e4m3fnuz", "bias 8"),
                                              ("float8_e5m2fnuz", "bias 16")])
def test_a_look_alike_format_is_refused_with_its_difference(name, difference):
    with pytest.raises(ValueError, match=difference):
        encode([1.0], getattr(ml_dtypes, name))


def test_an_unknown_format_lists_the_names_and_aliases():
    with pytest.raises(ValueError, match=r"unknown format 'fp5'.*'e4m3'.*float8_e4m3fn"):
        formats.format_info("fp5")


def test_fp4_codes_pack_two_per_byte_element_zero_low():
    codes = np.array([[0x1, 0xA, 0x7, 0xF], [0x0, 0x8, 0x3, 0x2]], np.uint8)
    packed = formats.pack_fp4(codes)
    np.testing.assert_array_equal(packed, [[0xA1, 0xF7], [0x80, 0x23]])
    np.testing.assert_array_equal(formats.unpack_fp4(packed), codes)
    np.testing.assert_array_equal(formats.unpack_fp4(formats.pack_fp4(codes.T, axis=0), axis=0), codes.T)


def test_packed_fp4_reads_as_ml_dtypes_float4_elements():
    """Unpacked nibbles viewed as ml_dtypes float4_e2m1fn give the values the codes decode to."""
    codes = np.random.default_rng(7).integers(0, 16, size=(3, 32)).astype(np.uint8)
    nibbles = formats.unpack_fp4(formats.pack_fp4(codes))
    np.testing.assert_array_equal(nibbles.view(ml_dtypes.float4_e2m1fn).astype(np.float64), decode(codes, "e2m1"))


@pytest.mark.parametrize("codes, message", [([1, 2, 3], "even number"), ([16, 0], "4-bit"), ([0.5, 1.0], "integers")])
def test_bad_fp4_codes_are_refused(codes, message):
    with pytest.raises(ValueError, match=message):
        formats.pack_fp4(np.array(codes))


def test_as_dtype_rounds_like_the_dtype_and_refuses_integers():
    values = np.array([1.0 + 2.0 ** -9, 3.0 * 2.0 ** -8, 1e10])
    np.testing.assert_array_equal(formats.as_dtype(values, ml_dtypes.bfloat16), values.astype(ml_dtypes.bfloat16))
    assert formats.as_dtype(values, None) is values
    with pytest.raises(ValueError, match="floating-point"):
        formats.as_dtype(values, np.int32)
