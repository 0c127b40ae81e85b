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
    """``x @ w.T`` with the skinny kernel when the kernels are on and x has at most 8 rows."""
    k = x.shape[-1] if x.ndim else 0
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

    return type(f"{base.__name__}WithSkinny", (base,), {"as_linear": as_linear, "_texture_skinny": True,
                                                         "__module__": base.__module__})


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

    Prefills use the float32 copy either way. The reason for the choice is in
    :func:`decode_choice`."""
    from ... import settings

    forced = settings.decode_weights()
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


def decode_choice() -> str:
    """Which decode kernel variant the last loaded model got, and why (doctor, bench)."""
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
    n = 0
    for name, m in model.named_modules():
        cls = type(m)
        if cls in (nn.Linear, nn.Embedding) and getattr(m, "weight", None) is not None \
                and m.weight.dtype == mx.float32:
            m.__class__ = (_skinny_linear_class if cls is nn.Linear else _skinny_embedding_class)(cls)
            n += 1
            view = _weight_view(m, m.weight)
            if weights in ("q8", "q8i") and view is not None and view.shape[1] % skinny.Q8_GROUP == 0:
                # q8i: the output projection (a tied embedding, or lm_head) keeps float32
                # activations: with int8 ones there too, SmolLM2's teacher-forced top-1 agreement
                # with float32 fell to 0.957 (the guard asks 0.97), without them it is 0.971.
                int_dot = weights == "q8i" and cls is nn.Linear and not name.endswith("lm_head")
                object.__setattr__(m, "_texture_q8", (m.weight, skinny.quantize_q8(view), int_dot))
    return n


def _remove_skinny(model: Any) -> None:
    for _, m in model.named_modules():
        if getattr(type(m), "_texture_skinny", False):
            m.__class__ = type(m).__mro__[1]
            m.__dict__.pop("_texture_q8", None)


def q8_layers(model: Any) -> int:
    """How many of ``model``'s layers read int8 weights in decode steps."""
    return sum(1 for _, m in model.named_modules()
               if getattr(type(m), "_texture_skinny", False) and "_texture_q8" in m.__dict__)


def q8i_layers(model: Any) -> int:
    """How many of those multiply them with int8 activations (the q8i products)."""
    return sum(1 for _, m in model.named_modules()
               if getattr(type(m), "_texture_skinny", False) and m.__dict__.get("_texture_q8", (0, 0, False))[2])


def q8_bytes(model: Any) -> int:
    """Bytes of the int8 copies (weights and scales) kept besides the float32 weights."""
    return sum(q.nbytes + s.nbytes for _, m in model.named_modules()
               for q, s in [m.__dict__.get("_texture_q8", (None, (None, None), False))[1]] if q is not None)


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
