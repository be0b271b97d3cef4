"""NVFP4 and OCP MX against references assembled from ml_dtypes casts."""

import warnings

import ml_dtypes
import numpy as np
import pytest

from golden import fgmp, formats, mx, nvfp4


def nvfp4_reference(x, tensor_scale=None):
    """The NVFP4 rule written independently with ml_dtypes (blocks along the last axis)."""
    x = np.asarray(x, np.float64)
    s_t = np.float32(np.abs(x).max() / 2688.0) if tensor_scale is None else np.float32(tensor_scale)
    blocks = x.reshape(x.shape[:-1] + (-1, 16))
    s_b = (np.abs(blocks).max(-1) / (6 * np.float64(s_t))).astype(ml_dtypes.float8_e4m3fn)
    s_b = np.maximum(s_b.astype(np.float64), 2.0 ** -9)
    e = (blocks / (s_b[..., None] * np.float64(s_t))).astype(ml_dtypes.float4_e2m1fn).astype(np.float64)
    return (e * s_b[..., None] * np.float64(s_t)).reshape(x.shape)


@pytest.mark.parametrize("shape", [(16,), (8, 64), (3, 5, 32)])
def test_nvfp4_matches_independent_reference(shape, rng):
    x = (rng.standard_normal(shape) * np.exp2(rng.integers(-8, 8, shape))).astype(np.float32)
    np.testing.assert_array_equal(nvfp4.quantize(x).dequantize(), nvfp4_reference(x))


def test_nvfp4_axis_is_the_blocked_axis(rng):
    x = rng.standard_normal((32, 6))
    along0 = nvfp4.quantize(x, axis=0)
    assert along0.scale_codes.shape == (2, 6)
    np.testing.assert_array_equal(along0.dequantize(), nvfp4.quantize(x.T).dequantize().T)


def test_nvfp4_zero_and_tiny_blocks_keep_the_smallest_scale():
    x = np.zeros((3, 16))
    x[0, 0] = 1000.0                          # sets the tensor scale
    x[1, 3] = 1e-6                            # far below the E4M3 range of block scales
    q = nvfp4.quantize(x)
    assert q.scale_codes[1:, 0].tolist() == [0x01, 0x01]
    assert (q.codes[2] == 0).all()
    np.testing.assert_array_equal(q.dequantize()[2], 0.0)
    assert nvfp4.quantize(np.zeros(16)).tensor_scale == np.float32(1.0)


@pytest.mark.parametrize("bad, match", [
    (dict(x=np.ones(15)), "multiple of the block size 16; pad"),
    (dict(x=np.array([np.nan] + [1.0] * 15)), "non-finite"),
    (dict(x=np.ones(16), tensor_scale=0.0), "tensor_scale"),
    (dict(x=np.ones(16), axis=3), "axis 3"),
    (dict(x=np.ones(16), block=0), "block must be a positive integer"),
    (dict(x=np.ones(16), axis="x"), "axis must be an integer, got 'x'"),
    (dict(x=np.ones(16), axis=1.0), "axis must be an integer, got 1.0"),
    (dict(x=np.zeros(0)), r"x is empty \(shape \(0,\)\)"),
    (dict(x=np.zeros((4, 0))), r"x is empty \(shape \(4, 0\)\)"),
    (dict(x=np.ones(16) * (1 + 2j)), r"x is complex \(complex128\).*x.real"),
    (dict(x=["1.5"] * 16), "x must hold real numbers, got an array of dtype <U3"),
    (dict(x=np.full(16, 1e300)), r"amax 1e\+300 needs the tensor scale amax / 2688 = 3.72e\+296, which FP32 cannot hold"),
    (dict(x=np.full(16, 1e-300)), r"amax 1e-300 .* which FP32 cannot hold \(it rounds to 0.0\)"),
    (dict(x=np.ones(16), tensor_scale=1e300), "tensor_scale must be a positive finite FP32 value, got 1e\\+300"),
])
def test_nvfp4_bad_input(bad, match):
    x = bad.pop("x")
    with warnings.catch_warnings():
        warnings.simplefilter("error")                # an error, not a NumPy warning and a NaN
        with pytest.raises(ValueError, match=match):
            nvfp4.quantize(x, **bad)


def test_nvfp4_bits_per_element():
    assert nvfp4.quantize(np.ones(1024)).bits_per_element == 4 + 0.5 + 32 / 1024


ML_ELEM = {"fp4": ml_dtypes.float4_e2m1fn, "fp6e2m3": ml_dtypes.float6_e2m3fn,
           "fp6e3m2": ml_dtypes.float6_e3m2fn, "fp8e4m3": ml_dtypes.float8_e4m3fn,
           "fp8e5m2": ml_dtypes.float8_e5m2}


def mx_reference(x, elem):
    spec = mx.MX_ELEMENTS[elem]
    blocks = np.asarray(x, np.float64).reshape(-1, 32)
    amax = np.abs(blocks).max(-1)
    e = np.floor(np.log2(np.where(amax > 0, amax, 1.0))) - spec.emax
    e = np.where(amax > 0, np.clip(e, -127, 127), -127)
    v = blocks / np.exp2(e)[:, None]
    if elem == "int8":
        q = np.clip(np.rint(v * 64), -127, 127) / 64
    else:
        top = float(ml_dtypes.finfo(ML_ELEM[elem]).max)
        q = np.clip(v, -top, top).astype(np.float32).astype(ML_ELEM[elem]).astype(np.float64)
    return (q * np.exp2(e)[:, None]).reshape(np.shape(x))


@pytest.mark.parametrize("elem", sorted(mx.MX_ELEMENTS))
def test_mx_matches_independent_reference(elem, rng):
    x = (rng.standard_normal((16, 64)) * np.exp2(rng.integers(-20, 20, (16, 64)))).astype(np.float32)
    q = mx.quantize(x, elem)
    np.testing.assert_array_equal(q.dequantize(), mx_reference(x, elem))
    assert q.scale_codes.shape == (16, 2)


def test_mx_scale_rule_and_zero_block():
    x = np.zeros((2, 32))
    x[0, 0] = 5.0                              # floor(log2 5) = 2, minus emax 2 -> 2**0
    q = mx.quantize(x, "fp4")
    assert q.scale_codes.tolist() == [[127], [0]]
    assert q.dequantize()[0, 0] == 4.0          # 5 is an E2M1 tie: to the even code (4)


def test_mx_saturates_the_top_binade():
    x = np.zeros(32)
    x[0], x[1] = 7.9, -7.9                     # scale 2**0 for fp4; 7.9 saturates to 6
    assert mx.quantize(x, "fp4").dequantize()[:2].tolist() == [6.0, -6.0]


def test_mx_int8_is_symmetric():
    x = np.full(32, -1.999)
    assert mx.quantize(x, "int8").dequantize()[0] == -127 / 64


def test_mx_rounding_modes():
    x = np.zeros(32)
    x[0], x[1] = 4.0, 1.25                     # scale 1; 1.25 is an E2M1 tie between 1 and 1.5
    assert mx.quantize(x, "fp4", rounding="rne").dequantize()[1] == 1.0
    assert mx.quantize(x, "fp4", rounding="rna").dequantize()[1] == 1.5


def test_mx_bad_input():
    with pytest.raises(ValueError, match="'fp5'"):
        mx.quantize(np.ones(32), "fp5")
    with pytest.raises(ValueError, match="multiple of the block size 32"):
        mx.quantize(np.ones(48), "fp4")


@pytest.mark.parametrize("quantize", [
    lambda x: mx.quantize(x, "fp4"), lambda x: fgmp.quantize_weights(x, np.ones(x.shape), 0.5),
    lambda x: fgmp.tensor_scale_for(x), lambda x: formats.encode(x, "e4m3")])
def test_complex_input_is_refused_everywhere(quantize):
    with pytest.raises(ValueError, match="complex"):
        quantize(np.ones((2, 32)) * (1 + 1j))


@pytest.mark.parametrize("quantize", [lambda x: mx.quantize(x, "fp4"),
                                      lambda x: fgmp.quantize_weights(x, np.ones(x.shape), 0.5)])
def test_empty_input_is_refused_everywhere(quantize):
    with pytest.raises(ValueError, match="empty"):
        quantize(np.zeros((0, 32)))


def test_fgmp_scale_overflow_is_an_error_not_a_nan():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="amax 1e\\+300 needs the tensor scale amax / 448"):
            fgmp.quantize_weights(np.full((1, 16), 1e300), np.ones((1, 16)), 0.5)


@pytest.mark.parametrize("spelling, elem", [("fp8_e4m3", "fp8e4m3"), (ml_dtypes.float8_e5m2, "fp8e5m2"),
                                            ("fp6_e3m2", "fp6e3m2"), (ml_dtypes.float4_e2m1fn, "fp4"),
                                            (np.int8, "int8"), ("fp8e4m3", "fp8e4m3")])
def test_an_mx_element_may_be_named_by_its_format(spelling, elem, rng):
    x = rng.standard_normal(64)
    assert mx.mx_element(spelling) == elem
    np.testing.assert_array_equal(mx.quantize(x, spelling).codes, mx.quantize(x, elem).codes)


def test_a_format_that_is_not_an_mx_element_is_refused():
    with pytest.raises(ValueError, match=r"'e8m0' \(e8m0\) is not an MX element type"):
        mx.quantize(np.ones(32), "e8m0")


@pytest.mark.parametrize("tensor", [
    lambda x: nvfp4.quantize(x), lambda x: mx.quantize(x, "fp8e4m3"),
    lambda x: fgmp.quantize_weights(x, np.ones(x.shape), 0.5)], ids=["nvfp4", "mx", "fgmp"])
@pytest.mark.parametrize("dtype", [np.float32, ml_dtypes.bfloat16, np.float16])
def test_dequantize_to_a_dtype_is_the_exact_values_rounded_once(tensor, dtype, rng):
    q = tensor(rng.standard_normal((4, 64)) * 3)
    exact = q.dequantize()
    rounded = q.dequantize(dtype=dtype)
    assert exact.dtype == np.float64 and rounded.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(rounded, exact.astype(dtype))


def test_nvfp4_packed_codes_are_two_per_byte_in_torchaos_order(rng):
    q = nvfp4.quantize(rng.standard_normal((2, 32)))
    packed = q.packed_codes()
    assert packed.shape == (2, 16)
    np.testing.assert_array_equal(packed & 0xF, q.codes[:, 0::2])
    np.testing.assert_array_equal(packed >> 4, q.codes[:, 1::2])
