"""Cheaper activation and attention kernels for the CPU fast path.

Measured on this machine (x86-64, ``mlx[cpu]`` 0.32, float32): MLX's CPU ``exp`` costs about
12 ns an element, while ``power(2, x)`` costs about 4 and a multiply 0.5. In a prompt's prefill
the SiLU of the MLP (``x * sigmoid(x)``) and the softmax inside attention are exp-bound: with
a 170-token prompt on SmolLM2 they were 9 of the 19 ms each layer took. So, on the CPU path
only, both are rewritten in base 2:

* ``silu(g) * x`` becomes ``g / (1 + 2^(-g * log2 e)) * x`` (relative error ~3e-7);
* attention over more than one query (a prefill chunk) becomes two BLAS matmuls around a
  base-2 softmax whose normalisation is applied after the second matmul (absolute error ~2e-6
  on unit-scale inputs). A single-query decode step keeps ``mx.fast.scaled_dot_product_attention``.

Prefill of a 170-token prompt, in the model: 1.12-1.19x faster in two runs of
``python -m tools.bench.kernels prefill`` (511 -> 456 and 585 -> 492 ms). In isolation the two ops
are 2-2.5x cheaper (attention 5.4 -> 2.2 ms, SiLU*x 4.5 -> 1.8 ms per layer at 170 tokens).

:func:`install` turns them on for one loaded model of an architecture the importer supports
(llama, qwen2): the names those mlx-lm modules call (``swiglu`` and
``scaled_dot_product_attention``) become dispatchers that use these kernels only while such a
model runs, and fall back to the originals for anything they do not cover (attention sinks,
quantized KV caches). Only the CPU float32 path installs them: Metal and CUDA keep mlx-lm's
kernels untouched, and so does any other model in the process. Everything stays deterministic: the same
inputs give bit-identical outputs in every batch shape the engine uses (prefill runs alone).

:func:`install` also gives the model's float32 ``Linear`` layers (and a tied embedding's output
projection) the decode-step products of :mod:`engine.llm.skinny` when that kernel builds: any
product of at most 8 rows (a decode step, a prompt's last position) reads each weight once for
all its rows, and a row's result no longer depends on how many rows share the step. Larger
products (a prompt's prefill) stay with BLAS.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
from typing import Any

import mlx.core as mx

from . import skinny

LOG2E = 1.4426950408889634
ARCHITECTURES = ("llama", "qwen2")
NAME = "base-2 SiLU and prefill softmax"

_lock = threading.Lock()
_patched: dict[str, tuple[Any, Any]] = {}  # module name -> (original swiglu, original sdpa)


def fast_swiglu(gate: mx.array, x: mx.array) -> mx.array:
    """``silu(gate) * x`` with the sigmoid's exp taken in base 2."""
    return gate / (1.0 + mx.power(2.0, gate * -LOG2E)) * x


def _prefill_attention(queries: mx.array, keys: mx.array, values: mx.array, scale: float,
                       mask: Any) -> mx.array:
    B, Hq, L, D = queries.shape
    Hkv, S = keys.shape[1], keys.shape[2]
    rep = Hq // Hkv
    # Grouped-query attention without repeating K/V: fold the query heads of a KV head into rows.
    q = (queries * (scale * LOG2E)).reshape(B, Hkv, rep * L, D)
    s = q @ keys.swapaxes(-1, -2)  # (B, Hkv, rep*L, S), in log2 units
    if mask is not None:
        if isinstance(mask, str):  # "causal": the L queries are the last L of the S positions
            mask = mx.arange(S - L, S)[:, None] >= mx.arange(S)[None]
        if mask.ndim == 4:  # (B|1, 1|Hq, L, S)
            mb, mh = mask.shape[0], mask.shape[1]
            if mh == 1:
                mask = mx.broadcast_to(mask[:, :, None], (mb, 1, rep, L, S)).reshape(mb, 1, rep * L, S)
            else:
                mask = mask.reshape(mb, Hkv, rep * L, S)
        elif mask.ndim == 2:  # (L, S)
            mask = mx.broadcast_to(mask[None], (rep, L, S)).reshape(rep * L, S)
        else:
            raise ValueError(f"unsupported attention mask shape {mask.shape}")
        if mask.dtype == mx.bool_:
            # A large finite value, not -inf: a fully masked (padding) row stays finite.
            s = mx.where(mask, s, mx.finfo(s.dtype).min)
        else:
            s = s + mask * LOG2E
    m = mx.max(s, axis=-1, keepdims=True)
    e = mx.power(2.0, s - m)
    out = (e @ values) / mx.sum(e, axis=-1, keepdims=True)
    return out.reshape(B, Hq, L, D)


_state = threading.local()


def _on() -> bool:
    return getattr(_state, "depth", 0) > 0


def _make_swiglu(original):
    def swiglu(gate, x):
        return fast_swiglu(gate, x) if _on() else original(gate, x)

    swiglu.original = original  # type: ignore[attr-defined]
    return swiglu


def _decode_attention_per_row(original, queries, keys, values, cache, scale, mask):
    """A decode step's attention over a left-padded batch cache, row by row over exactly that
    row's keys and with no mask: what the row gets alone. Over the padded batch (a masked,
    longer key axis, the row's keys at another offset) the sums run in another order: 69 of
    150 attention outputs of SmolLM2's first layer differed in their last bits between 1 and 4
    streams, which q8i's int8 rounding of the next product's input turned into other tokens.
    ``mask`` (the batch's padding mask) is not needed: each row's slice has no padding."""
    pads = cache.left_padding.tolist()
    rows = [original(queries[b:b + 1], keys[b:b + 1, :, p:], values[b:b + 1, :, p:], cache=None, scale=scale,
                     mask=None) for b, p in enumerate(pads)]
    return rows[0] if len(rows) == 1 else mx.concatenate(rows, axis=0)


def _make_sdpa(original):
    def scaled_dot_product_attention(queries, keys, values, cache, scale, mask, sinks=None):
        if (_on() and queries.shape[2] == 1 and sinks is None and not hasattr(cache, "bits")
                and isinstance(getattr(cache, "left_padding", None), mx.array)
                and cache.left_padding.shape == (queries.shape[0],) and keys.shape[0] == queries.shape[0]):
            return _decode_attention_per_row(original, queries, keys, values, cache, scale, mask)
        if (not _on() or queries.shape[2] == 1 or sinks is not None or hasattr(cache, "bits")
                or queries.dtype != mx.float32 or queries.shape[1] % keys.shape[1]):
            return original(queries, keys, values, cache=cache, scale=scale, mask=mask, sinks=sinks)
        return _prefill_attention(queries, keys, values, scale, mask)

    scaled_dot_product_attention.original = original  # type: ignore[attr-defined]
    return scaled_dot_product_attention


def _patch_modules() -> None:
    with _lock:
        for name in ARCHITECTURES:
            modname = f"mlx_lm.models.{name}"
            if modname in _patched:
                continue
            mod = importlib.import_module(modname)
            orig_swiglu, orig_sdpa = mod.swiglu, mod.scaled_dot_product_attention
            mod.swiglu = _make_swiglu(orig_swiglu)
            mod.scaled_dot_product_attention = _make_sdpa(orig_sdpa)
            _patched[modname] = (orig_swiglu, orig_sdpa)


def _weight_view(layer: Any, w: mx.array) -> Any:
    """A zero-copy numpy view of ``w`` for the kernel, kept on the layer until ``w`` is replaced."""
    cached = layer.__dict__.get("_texture_view")
    if cached is None or cached[0] is not w:
        cached = (w, skinny.weight_view(w))
        object.__setattr__(layer, "_texture_view", cached)  # not a parameter: bypass Module's setattr
    return cached[1]


def _skinny_product(layer: Any, x: mx.array, w: mx.array) -> mx.array | None:
    """``x @ w.T`` with the skinny kernel when the kernels are on and x has at most 8 rows; from
    the q8 weights for any x when they are the only copy (:func:`drop_float32`)."""
    k = x.shape[-1] if x.ndim else 0
    if layer.__dict__.get("_texture_dropped"):
        q8 = layer.__dict__["_texture_q8"]
        return skinny.matmul(x, q8[1], int_dot=q8[2]) if k else None
    if not _on() or k == 0 or x.size > skinny.MAX_ROWS * k or x.dtype != mx.float32:
        return None
    q8 = layer.__dict__.get("_texture_q8")
    if q8 is not None and q8[0] is w and q8[1][0].shape[1] == k:
        return skinny.matmul(x, q8[1], int_dot=q8[2])
    wn = _weight_view(layer, w)
    if wn is None or wn.shape[1] != k:
        return None
    return skinny.matmul(x, wn)


def _skinny_linear_class(base: type) -> type:
    def __call__(self, x):
        y = _skinny_product(self, x, self["weight"])
        if y is None:
            return base.__call__(self, x)
        return y + self["bias"] if "bias" in self else y

    return type(f"{base.__name__}WithSkinny", (base,), {"__call__": __call__, "_texture_skinny": True,
                                                         "__module__": base.__module__})


def _skinny_embedding_class(base: type) -> type:
    def as_linear(self, x):
        y = _skinny_product(self, x, self["weight"])
        return base.as_linear(self, x) if y is None else y

    def __call__(self, x):
        if not self.__dict__.get("_texture_dropped"):
            return base.__call__(self, x)
        # no float32 table: the rows looked up are dequantized from the q8 copy
        import numpy as np

        q, sb = self.__dict__["_texture_q8"][1]
        ids = np.array(x, copy=False).astype(np.int64)
        flat = ids.reshape(-1)
        rows = skinny.dequantize_q8(q[flat], sb[flat])
        return mx.array(rows.reshape(*ids.shape, q.shape[1]))

    return type(f"{base.__name__}WithSkinny", (base,), {"as_linear": as_linear, "__call__": __call__,
                                                         "_texture_skinny": True, "__module__": base.__module__})


_decode_choice = {"weights": None, "why": "no model loaded yet"}


def decode_weights_wanted() -> str:
    """"q8i", "q8" or "f32": the weights (and products) a decode step reads.

    * ``q8`` (the default): int8 weights, one scale and offset per 32 values, dequantized in
      registers to float32 FMAs;
    * ``q8i`` (opt-in, ``FLUX_DECODE_WEIGHTS=q8i``, where the CPU has AVX512-VNNI): the same
      int8 weights times int8 activations (each row quantized per 32 values with its own scale)
      on ``vpdpbusd``. Not the default: 1.1-1.2x faster products in the kernel bench, no gain
      seen end to end, and the int8 rounding turns last-bit differences in a decode step's
      inputs between batch shapes (present upstream of the products, absorbed by q8) into other
      tokens: 4 of 8 places differed between 1 and 4 streams (``python -m tools.bench.kernels
      streams``);
    * ``f32``: ``FLUX_LLM_DTYPE=float32`` or ``FLUX_DECODE_WEIGHTS=f32``.

    Prefills read the same q8 weights (no float32 copy is kept; ``FLUX_KEEP_F32=1`` keeps one,
    for prefills on BLAS). The reason for the choice is in :func:`decode_choice`."""
    from ... import settings

    forced = settings.decode_weights()
    if forced == "q4":  # the 8-bit matrices of a 4-bit model: q8 (q4_wanted says which keep 4 bits)
        forced = "q8"
    if forced in ("f32", "float32") or (not forced and settings.llm_dtype() == "float32"):
        why = "FLUX_DECODE_WEIGHTS=f32" if forced else "FLUX_LLM_DTYPE=float32"
        _decode_choice.update(weights="f32", why=f"float32 weights ({why})")
        return "f32"
    if forced == "q8":
        _decode_choice.update(weights="q8", why="q8: int8 weights dequantized to float32 FMAs (FLUX_DECODE_WEIGHTS=q8)")
        return "q8"
    ok, reason = skinny.q8i_support()
    if forced == "q8i" and ok:
        _decode_choice.update(weights="q8i", why=f"q8i: int8 weights x int8 activations on AVX512-VNNI vpdpbusd "
                                                f"(FLUX_DECODE_WEIGHTS=q8i; {reason})")
        return "q8i"
    if forced == "q8i":
        why = f"q8: int8 weights dequantized to float32 FMAs although FLUX_DECODE_WEIGHTS=q8i (q8i not available: {reason})"
    elif ok:
        why = (f"q8: int8 weights dequantized to float32 FMAs (the default; q8i, int8 activations on AVX512-VNNI, "
               f"runs here but is opt-in: FLUX_DECODE_WEIGHTS=q8i)")
    else:
        why = f"q8: int8 weights dequantized to float32 FMAs (the default; q8i not available: {reason})"
    _decode_choice.update(weights="q8", why=why)
    return "q8"


# A model whose 4-bit matrices hold at least this many weights keeps them 4-bit on the CPU path
# (q4.c) unless FLUX_DECODE_WEIGHTS says otherwise: there a decode step is bound by reading the
# weights from memory, and 4 bits read half of q8's bytes. Below it (SmolLM2-135M: 0.13 G) the
# q8 path measured faster: its weights stay in the caches, and on AMX its steps run on the tiles.
Q4_MIN_WEIGHTS = 400_000_000


def _q4_candidates(model: Any, bits_ok: tuple[int, ...] = (4, 8)) -> list[tuple[str, Any]]:
    """The modules of ``model`` q4.c takes as they are: affine 4-bit or 8-bit QuantizedLinear /
    QuantizedEmbedding with K and the group size multiples of 32 (the group size a power of two
    up to 256), float16 or bfloat16 scales and biases."""
    import mlx.nn as nn

    out = []
    for path, m in model.named_modules():
        if not isinstance(m, (nn.QuantizedLinear, nn.QuantizedEmbedding)) or getattr(m, "_texture_q4_done", False):
            continue
        gs, bits = int(m.group_size), int(m.bits)
        cols = int(m.weight.shape[1]) * 32 // bits
        if (bits in bits_ok and getattr(m, "mode", "affine") == "affine" and m.get("biases") is not None
                and gs in (32, 64, 128, 256) and cols % gs == 0 and m.weight.dtype == mx.uint32
                and m.scales.dtype in (mx.float16, mx.bfloat16) and m.biases.dtype == m.scales.dtype):
            out.append((path, m))
    return out


def q4_weight_count(model: Any) -> int:
    """How many weights the matrices q4.c would read in place hold (4-bit and 8-bit)."""
    return sum(int(m.weight.shape[0]) * int(m.weight.shape[1]) * 32 // int(m.bits) for _, m in _q4_candidates(model))


def q4_wanted(model: Any) -> bool:
    """Whether ``model``'s 4-bit matrices stay 4-bit on the CPU path (q4.c reads them where MLX
    holds them; the 8-bit ones still get q8 copies). ``FLUX_DECODE_WEIGHTS=q4`` forces it,
    ``q8`` / ``q8i`` / ``f32`` (or ``FLUX_LLM_DTYPE=float32``) turn it off; otherwise a model
    with at least :data:`Q4_MIN_WEIGHTS` 4-bit weights gets it. The reason is in
    :func:`decode_choice`."""
    from ... import settings

    forced = settings.decode_weights()
    cands = _q4_candidates(model, (4,))
    n = sum(int(m.weight.shape[0]) * int(m.weight.shape[1]) * 8 for _, m in cands)
    n8 = len(_q4_candidates(model, (8,)))
    if not cands:
        return False
    if forced == "q4":
        why = "FLUX_DECODE_WEIGHTS=q4"
    elif forced or settings.llm_dtype() == "float32":
        return False
    elif n >= Q4_MIN_WEIGHTS:
        why = f"{n / 1e9:.2f} G 4-bit weights, at least {Q4_MIN_WEIGHTS / 1e9:.1f} G: the step is memory-bound"
    else:
        return False
    _decode_choice.update(q4_why=(
        f"q4: {len(cands)} 4-bit and {n8} 8-bit matrices read where MLX holds them (float16 / bfloat16 scales "
        f"and biases) ({why}; FLUX_DECODE_WEIGHTS=q8 gives every matrix a q8 copy instead)"))
    return True


def decode_choice(model: Any = None) -> str:
    """Which decode kernel variant the last loaded model (or ``model``) got, and why (doctor, bench)."""
    if model is not None and q4_layers(model) and _decode_choice.get("q4_why"):
        from .native import decoder_for, step_q4_said

        dec = decoder_for(model)
        steps = (step_q4_said(dec) if dec is not None and dec.weights == "q4"
                 else "decode steps dequantize them in registers to float32 FMAs")
        return f"{_decode_choice['q4_why']}; {steps}"
    return str(_decode_choice["why"])


def _install_skinny(model: Any, weights: str | None = None) -> int:
    """Give ``model``'s float32 Linear layers and embedding the skinny products; how many.
    With ``weights="q8"`` or ``"q8i"`` each layer whose K is a multiple of 32 also keeps an int8
    copy (one scale and offset per 32 values) that its decode products read instead of the
    float32 weight: ``_texture_q8 = (weight, (q, sb), int_dot)``."""
    import mlx.nn as nn

    if mx.default_device() != mx.cpu or skinny.load() is None:
        return 0
    weights = weights or decode_weights_wanted()
    return sum(1 for name, m in model.named_modules() if _make_skinny(name, m, weights))


def _make_skinny(name: str, m: Any, weights: str) -> bool:
    """Give one float32 Linear or Embedding the skinny products (and its q8 copy); whether it
    was one."""
    import mlx.nn as nn

    cls = type(m)
    if cls not in (nn.Linear, nn.Embedding) or getattr(m, "weight", None) is None or m.weight.dtype != mx.float32:
        return False
    m.__class__ = (_skinny_linear_class if cls is nn.Linear else _skinny_embedding_class)(cls)
    view = _weight_view(m, m.weight)
    if weights in ("q8", "q8i") and view is not None and view.shape[1] % skinny.Q8_GROUP == 0:
        # q8i: the output projection (a tied embedding, or lm_head) keeps float32
        # activations: with int8 ones there too, SmolLM2's teacher-forced top-1 agreement
        # with float32 fell to 0.957 (the guard asks 0.97), without them it is 0.971.
        int_dot = weights == "q8i" and cls is nn.Linear and not name.endswith("lm_head")
        object.__setattr__(m, "_texture_q8", (m.weight, skinny.quantize_q8(view), int_dot))
    return True


def _drop(m: Any) -> int:
    """Let go of one skinny module's float32 weight when it has a q8 copy; the bytes let go."""
    q8 = m.__dict__.get("_texture_q8")
    if q8 is None or m.__dict__.get("_texture_dropped"):
        return 0
    n = int(q8[0].nbytes)
    placeholder = mx.zeros((0,), mx.float32)
    m.weight = placeholder
    m.__dict__.pop("_texture_view", None)
    object.__setattr__(m, "_texture_q8", (placeholder, q8[1], q8[2]))
    object.__setattr__(m, "_texture_dropped", True)
    return n


def drop_float32(model: Any) -> int:
    """Keep the q8 copies as the only copy of the matrices: every skinny module with one lets go
    of its float32 weight (products of any number of rows then read the q8 weights, embedding
    rows are dequantized from them). Returns the bytes let go."""
    return sum(_drop(m) for _, m in model.named_modules() if getattr(type(m), "_texture_skinny", False))


def _q4_product(layer: Any, x: mx.array) -> mx.array | None:
    """``x @ W.T`` for a module kept in MLX's 4-bit / 8-bit layout, on q4.c's products (any
    number of rows; each row's result the bits it gets alone), or None where they do not apply.
    MLX's own quantized product on the CPU is scalar: a 4-token prompt through a 7B-shaped model
    took minutes on it, and the engine's load-time speed check and any MLX-side forward run it."""
    import ctypes

    import numpy as np

    from . import native

    lib = skinny.load()
    q4 = layer.__dict__.get("_texture_q4")
    if lib is None or q4 is None or not x.ndim:
        return None
    d = layer.__dict__.get("_texture_q4_dmat")
    if d is None:
        d = native._DMat(*native._q4_mat(q4, None, []))
        object.__setattr__(layer, "_texture_q4_dmat", d)
    if x.shape[-1] != d.K:
        return None
    lead = x.shape[:-1]
    xn = np.array(x if x.dtype == mx.float32 else x.astype(mx.float32), copy=False).reshape(-1, d.K)
    xn = np.ascontiguousarray(xn)
    y = np.empty((xn.shape[0], d.N), np.float32)
    if xn.shape[0] and lib.dec_matmul_q4(ctypes.addressof(d), xn.ctypes.data, int(xn.shape[0]), y.ctypes.data,
                                         int(skinny.threads_for[2])) != 0:
        return None
    return mx.array(y).reshape(*lead, d.N)


def _q4_linear_class(base: type) -> type:
    """A 4-bit (or 8-bit) module kept as it is, its products on q4.c's kernels when MLX runs it
    (:func:`_q4_product`) as in the C step."""
    import mlx.nn as nn

    if issubclass(base, nn.QuantizedEmbedding):
        def as_linear(self, x):
            y = _q4_product(self, x)
            return base.as_linear(self, x) if y is None else y

        extra = {"as_linear": as_linear}
    else:
        def __call__(self, x):
            y = _q4_product(self, x)
            if y is None:
                return base.__call__(self, x)
            return y + self["bias"] if "bias" in self else y

        extra = {"__call__": __call__}
    return type(f"{base.__name__}Q4", (base,), {"_texture_skinny": True, "__module__": base.__module__, **extra})


def _keep_q4(m: Any) -> None:
    """Mark one 4-bit or 8-bit module to be read in place: ``_texture_q4 = (weight uint32
    (N, K * bits / 32), scales uint16 bits (N, K/gs), biases uint16 bits, gs, bfloat16?, bits)``,
    numpy views of MLX's own buffers (no copy)."""
    import numpy as np

    mx.eval(m.weight, m.scales, m.biases)
    wq = np.array(m.weight, copy=False)
    bf = m.scales.dtype == mx.bfloat16
    if bf:  # numpy has no bfloat16: the same bits as uint16
        qs, qb = (m.scales.view(mx.uint16), m.biases.view(mx.uint16))
        mx.eval(qs, qb)
        qs, qb = np.array(qs, copy=False), np.array(qb, copy=False)
    else:
        qs, qb = np.array(m.scales, copy=False).view(np.uint16), np.array(m.biases, copy=False).view(np.uint16)
    if not (wq.flags.c_contiguous and qs.flags.c_contiguous and qb.flags.c_contiguous):
        wq, qs, qb = (np.ascontiguousarray(a) for a in (wq, qs, qb))
    m.__class__ = _q4_linear_class(type(m))
    object.__setattr__(m, "_texture_q4", (wq, qs, qb, int(m.group_size), int(bf), int(m.bits)))


def quantize_model_q8(model: Any, weights: str | None = None, keep4: bool = False) -> int:
    """Replace every QuantizedLinear / QuantizedEmbedding of a loaded mlx-lm model by a float
    module whose only weights are the q8 copy (:func:`drop_float32`'s state), made a block of rows
    at a time: the same bits as dequantizing the whole matrix to float32 and quantizing that
    (every step is per row), without ever holding a whole float32 matrix. The other float
    parameters (norms, biases) become float32, as :func:`engine.llm.fastpath.dequantize_model`
    makes them. Returns the number of modules replaced.

    ``keep4`` (:func:`q4_wanted`): the affine 4-bit and 8-bit modules stay as they are instead
    (their scales and biases keep their float16 / bfloat16 type), marked for q4.c
    (``_texture_q4``): no copy is made of them."""
    import numpy as np
    import mlx.nn as nn
    from mlx.utils import tree_map_with_path

    from .fastpath import _set_module

    weights = weights or decode_weights_wanted()
    kept = {path for path, _ in _q4_candidates(model)} if keep4 else set()
    for path, m in model.named_modules():
        if path in kept:
            _keep_q4(m)
    todo = [(path, m) for path, m in model.named_modules()
            if isinstance(m, (nn.QuantizedLinear, nn.QuantizedEmbedding)) and path not in kept]
    for i, (path, m) in enumerate(todo):
        rows = int(m.weight.shape[0])
        cols = int(m.weight.shape[1]) * 32 // int(m.bits)
        if cols % skinny.Q8_GROUP:
            raise ValueError(f"{path}: {cols} columns, not a multiple of {skinny.Q8_GROUP}")
        q = np.empty((rows, cols), np.uint8)
        sb = np.empty((rows, cols // skinny.Q8_GROUP, 2), np.float32)
        step = max(1, (1 << 22) // cols)
        for r in range(0, rows, step):
            part = mx.dequantize(m.weight[r:r + step], m.scales[r:r + step],
                                 None if m.get("biases") is None else m["biases"][r:r + step],
                                 m.group_size, m.bits, mode=getattr(m, "mode", "affine")).astype(mx.float32)
            mx.eval(part)
            q[r:r + step], sb[r:r + step] = skinny.quantize_q8(np.array(part, copy=False))
            del part
        placeholder = mx.zeros((0,), mx.float32)
        if isinstance(m, nn.QuantizedLinear):
            new = nn.Linear(1, 1, bias="bias" in m)
            if "bias" in m:
                new.bias = m.bias.astype(mx.float32)
            new.__class__ = _skinny_linear_class(nn.Linear)
            int_dot = weights == "q8i" and not path.endswith("lm_head")
        else:
            new = nn.Embedding(1, 1)
            new.__class__ = _skinny_embedding_class(nn.Embedding)
            int_dot = False
        new.weight = placeholder
        object.__setattr__(new, "_texture_q8", (placeholder, (q, sb), int_dot))
        object.__setattr__(new, "_texture_dropped", True)
        _set_module(model, path, new)
        mx.eval(new.parameters())
        todo[i] = (path, None)
        del m
        mx.clear_cache()

    def cast(path, a):
        if path.rsplit(".", 1)[0] in kept and path.rsplit(".", 1)[-1] in ("scales", "biases"):
            return a
        if isinstance(a, mx.array) and mx.issubdtype(a.dtype, mx.floating) and a.dtype != mx.float32:
            return a.astype(mx.float32)
        return a

    model.update(tree_map_with_path(cast, model.parameters()))
    mx.eval(model.parameters())
    return len(todo)


def float32_dropped(model: Any) -> bool:
    """Whether the model's matrices are kept in q8 (or 4 bits) alone."""
    return any(m.__dict__.get("_texture_dropped") or "_texture_q4" in m.__dict__ for _, m in model.named_modules())


def will_drop_float32(model: Any) -> bool:
    """Whether a model of a covered architecture, loaded on this CPU path, keeps its matrices in
    q8 alone (the default; ``FLUX_KEEP_F32=1`` keeps the float32 copy beside them)."""
    from ... import settings

    arch = getattr(getattr(model, "args", None), "model_type", None) or getattr(model, "model_type", None)
    return (arch in ARCHITECTURES and not settings.keep_float32() and mx.default_device() == mx.cpu
            and skinny.load() is not None and decode_weights_wanted() in ("q8", "q8i"))


def _remove_skinny(model: Any) -> None:
    for _, m in model.named_modules():
        if getattr(type(m), "_texture_skinny", False):
            m.__class__ = type(m).__mro__[1]
            m.__dict__.pop("_texture_q8", None)
            m.__dict__.pop("_texture_q4", None)
            m.__dict__.pop("_texture_q4_dmat", None)


def q8_layers(model: Any) -> int:
    """How many of ``model``'s layers read int8 weights in decode steps."""
    return sum(1 for _, m in model.named_modules()
               if getattr(type(m), "_texture_skinny", False) and "_texture_q8" in m.__dict__)


def q8i_layers(model: Any) -> int:
    """How many of those multiply them with int8 activations (the q8i products)."""
    return sum(1 for _, m in model.named_modules()
               if getattr(type(m), "_texture_skinny", False) and m.__dict__.get("_texture_q8", (0, 0, False))[2])


def q8_bytes(model: Any) -> int:
    """Bytes of the int8 copies (weights and scales): the only copy of the matrices unless
    ``FLUX_KEEP_F32=1`` keeps the float32 weights beside them."""
    return sum(q.nbytes + s.nbytes for _, m in model.named_modules()
               for q, s in [m.__dict__.get("_texture_q8", (None, (None, None), False))[1]] if q is not None)


def q4_layers(model: Any, bits: int | None = None) -> int:
    """How many of ``model``'s matrices are read as MLX's 4-bit (or 8-bit) weights in place (q4.c)."""
    return sum(1 for _, m in model.named_modules()
               if "_texture_q4" in m.__dict__ and bits in (None, m.__dict__["_texture_q4"][5]))


def q4_bytes(model: Any) -> int:
    """Bytes of those matrices (4-bit weights, their scales and biases)."""
    return sum(sum(a.nbytes for a in m.__dict__["_texture_q4"][:3]) for _, m in model.named_modules()
               if "_texture_q4" in m.__dict__)


def skinny_layers(model: Any) -> int:
    """How many of ``model``'s layers use the skinny decode products."""
    return sum(1 for _, m in model.named_modules() if getattr(type(m), "_texture_skinny", False))


def _with_kernels(call):
    def __call__(self, *args, **kwargs):
        _state.depth = getattr(_state, "depth", 0) + 1
        try:
            return call(self, *args, **kwargs)
        finally:
            _state.depth -= 1

    return __call__


@contextlib.contextmanager
def engaged(model: Any):
    """Run parts of ``model`` (its inner transformer, say) with the kernels on, as its own call
    does, when :func:`install` gave it them; otherwise a no-op."""
    if not active(model):
        yield
        return
    _state.depth = getattr(_state, "depth", 0) + 1
    try:
        yield
    finally:
        _state.depth -= 1


def install(model: Any) -> str | None:
    """Run ``model`` (a loaded mlx-lm model) with these kernels from now on.

    The mlx-lm modules of the covered architectures get dispatching ``swiglu`` and
    ``scaled_dot_product_attention`` functions, which use the kernels only while a model given
    to :func:`install` is running (on that thread); every other model is untouched. Returns a
    short description, or None when the architecture is not covered. Idempotent.
    """
    arch = getattr(getattr(model, "args", None), "model_type", None) or getattr(model, "model_type", None)
    if arch not in ARCHITECTURES or not hasattr(model, "__call__"):
        return None
    _patch_modules()
    cls = type(model)
    if not getattr(cls, "_texture_cpu_kernels", False):
        model.__class__ = type(f"{cls.__name__}WithCpuKernels", (cls,),
                               {"__call__": _with_kernels(cls.__call__), "_texture_cpu_kernels": True,
                                "__module__": cls.__module__})
        _install_skinny(model)
    return description(model)


def description(model: Any) -> str:
    """What :func:`install` gave ``model``, for logs and ``texture doctor``."""
    if not active(model):
        return "mlx-lm"
    n = skinny_layers(model)
    nq = q8_layers(model)
    n4 = q4_layers(model)
    if n4:
        return (f"{NAME}; {skinny.NAME} on {n} layers: MLX's 4-bit weights read in place on "
                f"{q4_layers(model, 4)}, its 8-bit ones on {q4_layers(model, 8)}, q8 copies on {nq}")
    if nq and q8i_layers(model):
        return (f"{NAME}; {skinny.NAME} on {n} layers, 8-bit weights (groups of {skinny.Q8_GROUP}) times 8-bit "
                f"activations on AVX512-VNNI (q8i) on {nq}")
    if nq:
        return f"{NAME}; {skinny.NAME} on {n} layers, 8-bit weights (q8, groups of {skinny.Q8_GROUP}) on {nq}"
    return f"{NAME}; {skinny.NAME} on {n} layers" if n else NAME


def remove(model: Any) -> None:
    """Run ``model`` with mlx-lm's own kernels again."""
    cls = type(model)
    if getattr(cls, "_texture_cpu_kernels", False):
        model.__class__ = cls.__mro__[1]
        _remove_skinny(model)
        from . import native

        native.detach(model)


def active(model: Any) -> bool:
    return bool(getattr(type(model), "_texture_cpu_kernels", False))
