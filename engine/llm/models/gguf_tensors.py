"""GGUF tensor types into MLX: the block formats (legacy Q4/Q5/Q8, IQ4, K-quants) converted to MLX
affine quantization exactly where the format allows, the rest dequantized and requantized; the
query/key row permutation undone. Part of :mod:`engine.llm.gguf_import` (split from it for length).
"""

from __future__ import annotations

import numpy as np

from .folders import GGUFImportError


_PLAIN = {"F32", "F16", "BF16"}
# Block formats whose every block of 32 weights is exactly ``scale * q + bias`` for small
# integers q: converted without loss to MLX affine quantization (group size 32), at these bits.
# Q5_0/Q5_1 (5-bit integers) and the IQ4 non-linear codebooks (integer levels in [-127, 113]
# times a block scale) go to 8 bits: exact, and the width every CPU path handles.
_LEGACY = {"Q8_0": 8, "Q4_0": 4, "Q4_1": 4, "Q5_0": 8, "Q5_1": 8, "IQ4_NL": 8, "IQ4_XS": 8}
_KQUANT_BITS = {"Q2_K": 4, "Q3_K": 4, "Q6_K": 8}
# K-quants with 32-weight sub-blocks of ``d * sc * q - dmin * m``: converted exactly up to the
# float16 rounding of each sub-block's scale and bias (4 bits for Q4_K, 8 for Q5_K's 5-bit q).
_KQUANT_AFFINE = {"Q4_K": 4, "Q5_K": 8}
_LEGACY.update(_KQUANT_AFFINE)
SUPPORTED_TENSOR_TYPES = tuple(sorted(_PLAIN | set(_LEGACY) | set(_KQUANT_BITS)))
# The IQ4_NL / IQ4_XS codebook (ggml-common.h kvalues_iq4nl).
_IQ4_LEVELS = np.array([-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113], np.int16)


def _pack_bits(q: np.ndarray, bits: int) -> np.ndarray:
    """Pack unsigned ints (rows, cols) into uint32 the way MLX does (LSB first)."""
    per = 32 // bits
    rows, cols = q.shape
    q = q.astype(np.uint32).reshape(rows, cols // per, per)
    shifts = (np.arange(per, dtype=np.uint32) * bits)[None, None, :]
    return np.bitwise_or.reduce(q << shifts, axis=-1).astype(np.uint32)


def _f16(blocks: np.ndarray, at: int) -> np.ndarray:
    """The float16 at byte offset ``at`` of every block: (rows, nblk)."""
    return blocks[..., at : at + 2].copy().view(np.float16)[..., 0]


def _nibbles(qs: np.ndarray) -> np.ndarray:
    """16 bytes -> 32 values: low nibbles are values 0..15, high nibbles 16..31 (ggml order)."""
    return np.concatenate([qs & 0x0F, qs >> 4], axis=-1)


def _high_bits(qh: np.ndarray) -> np.ndarray:
    """Q5's 4 bytes of high bits -> (…, 32) values 0/1, bit j of the little-endian u32 for value j."""
    u = qh.copy().view("<u4")  # (..., 1)
    return ((u >> np.arange(32, dtype=np.uint32)) & 1).astype(np.uint8)


def _legacy_to_affine(raw: np.ndarray, type_name: str, rows: int, cols: int):
    """GGUF 32-weight block formats -> (packed uint32, scales f16, biases f16, bits).

    Exact: every block is ``scale * q + bias`` for integers q (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1,
    IQ4_NL); for IQ4_XS the per-32 scale ``d * (ls - 32)`` is rounded to float16.
    """
    if type_name == "IQ4_XS":
        return _iq4_xs_to_affine(raw, rows, cols)
    if type_name in _KQUANT_AFFINE:
        return _kquant_to_affine(raw, type_name, rows, cols)
    nblk = cols // 32
    blocks = np.ascontiguousarray(raw).reshape(rows, nblk, -1)
    d = _f16(blocks, 0)
    if type_name == "Q8_0":  # f16 d, int8 qs[32]
        q = blocks[..., 2:34].view(np.int8).astype(np.int16) + 128  # 0..255
        scales, biases, bits = d, (d.astype(np.float32) * -128.0).astype(np.float16), 8
    elif type_name == "Q4_0":  # f16 d, u8 qs[16]: w = d * (q - 8)
        q = _nibbles(blocks[..., 2:18])
        scales, biases, bits = d, (d.astype(np.float32) * -8.0).astype(np.float16), 4
    elif type_name == "Q4_1":  # f16 d, f16 m, u8 qs[16]: w = d * q + m
        q = _nibbles(blocks[..., 4:20])
        scales, biases, bits = d, _f16(blocks, 2), 4
    elif type_name == "Q5_0":  # f16 d, u8 qh[4], u8 qs[16]: w = d * (q - 16), q 5 bits
        q = _nibbles(blocks[..., 6:22]) | (_high_bits(blocks[..., 2:6]) << 4)
        scales, biases, bits = d, (d.astype(np.float32) * -16.0).astype(np.float16), 8
    elif type_name == "Q5_1":  # f16 d, f16 m, u8 qh[4], u8 qs[16]: w = d * q + m
        q = _nibbles(blocks[..., 8:24]) | (_high_bits(blocks[..., 4:8]) << 4)
        scales, biases, bits = d, _f16(blocks, 2), 8
    elif type_name == "IQ4_NL":  # f16 d, u8 qs[16]: w = d * levels[nibble]
        q = _IQ4_LEVELS[_nibbles(blocks[..., 2:18])] + 128  # 1..241
        scales, biases, bits = d, (d.astype(np.float32) * -128.0).astype(np.float16), 8
    else:  # pragma: no cover
        raise AssertionError(type_name)
    return _pack_bits(q.reshape(rows, cols), bits), scales, biases, bits


def _kquant_to_affine(raw: np.ndarray, type_name: str, rows: int, cols: int):
    """Q4_K / Q5_K super-blocks of 256 -> 4-/8-bit affine triplets with group size 32.

    Q4_K: f16 d, f16 dmin, u8 scales[12] (6-bit sc and m per 32), u8 qs[128];
    Q5_K: the same plus u8 qh[32] (the fifth bit) before qs. Sub-block j of 32 is
    ``w = (d * sc_j) * q - dmin * m_j`` (gguf.quants' dequantize_blocks).
    """
    import gguf

    nbytes = 144 if type_name == "Q4_K" else 176
    nsb = cols // 256
    sb = np.ascontiguousarray(raw).reshape(rows * nsb, nbytes)
    d = sb[:, 0:2].copy().view(np.float16).astype(np.float32)  # (n, 1)
    dmin = sb[:, 2:4].copy().view(np.float16).astype(np.float32)
    sc, m = gguf.quants.Q4_K.get_scale_min(sb[:, 4:16])  # (n, 8) each
    scales = (d * sc.astype(np.float32)).astype(np.float16)
    biases = (-(dmin * m.astype(np.float32))).astype(np.float16)
    if type_name == "Q4_K":
        qs = sb[:, 16:144].reshape(-1, 4, 1, 32) >> np.array([0, 4], np.uint8).reshape(1, 1, 2, 1)
        q = (qs & 0x0F).reshape(-1, 256)
        bits = 4
    else:
        qh = sb[:, 16:48].reshape(-1, 1, 32) >> np.arange(8, dtype=np.uint8).reshape(1, 8, 1)
        ql = sb[:, 48:176].reshape(-1, 4, 1, 32) >> np.array([0, 4], np.uint8).reshape(1, 1, 2, 1)
        q = ((ql & 0x0F).reshape(-1, 8, 32) | ((qh & 0x01).reshape(-1, 8, 32) << 4)).reshape(-1, 256)
        bits = 8
    return (_pack_bits(q.reshape(rows, cols), bits), scales.reshape(rows, nsb * 8),
            biases.reshape(rows, nsb * 8), bits)


def _iq4_xs_to_affine(raw: np.ndarray, rows: int, cols: int):
    """IQ4_XS super-blocks of 256: f16 d, u16 scales_h, u8 scales_l[4], u8 qs[128].

    Sub-block ib (32 weights) has the 6-bit scale ls = low nibble ib of scales_l | 2 bits ib of
    scales_h << 4, and w = d * (ls - 32) * levels[nibble] (ggml's dequantize_row_iq4_xs).
    """
    nsb = cols // 256
    sb = np.ascontiguousarray(raw).reshape(rows, nsb, 136)
    d = _f16(sb, 0).astype(np.float32)  # (rows, nsb)
    sh = sb[..., 2:4].copy().view("<u2")[..., 0].astype(np.uint32)  # (rows, nsb)
    sl = sb[..., 4:8]  # (rows, nsb, 4)
    ib = np.arange(8)
    lo = (sl[..., ib // 2] >> (4 * (ib % 2))) & 0x0F  # (rows, nsb, 8)
    hi = (sh[..., None] >> (2 * ib)) & 3
    ls = (lo.astype(np.int32) | (hi.astype(np.int32) << 4)) - 32
    dl = (d[..., None] * ls).astype(np.float16)  # (rows, nsb, 8)
    qs = sb[..., 8:136].reshape(rows, nsb, 8, 16)
    q = _IQ4_LEVELS[_nibbles(qs)] + 128  # (rows, nsb, 8, 32)
    scales = dl.reshape(rows, nsb * 8)
    biases = (dl.astype(np.float32) * -128.0).astype(np.float16).reshape(rows, nsb * 8)
    return _pack_bits(q.reshape(rows, cols), 8), scales, biases, 8


def _unpermute_rows(a: np.ndarray, n_head: int) -> np.ndarray:
    """Undo llama.cpp's q/k row permutation (works on weights, scales, biases).

    llama.cpp did ``w.reshape(n_head, 2, hd//2, ...).swapaxes(1, 2)``; the inverse
    is ``w.reshape(n_head, hd//2, 2, ...).swapaxes(1, 2)``.
    """
    rows = a.shape[0]
    if rows % (2 * n_head):
        raise GGUFImportError(f"cannot un-permute {rows} rows for {n_head} heads")
    half = rows // n_head // 2
    return np.ascontiguousarray(
        a.reshape(n_head, half, 2, *a.shape[1:]).swapaxes(1, 2).reshape(a.shape)
    )
