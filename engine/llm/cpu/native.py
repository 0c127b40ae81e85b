"""The whole decode step in C (``decode.c``): M rows through every layer to the logits.

Through MLX, a decode step of SmolLM2-135M on a 2-vCPU KVM guest cost 44 ms for one row and
52 ms for four, while its 211 products (:mod:`engine.llm.skinny`) took 12 and 16 ms of that: the
rest was MLX building and evaluating a graph of about a thousand small operations, broken into
211 synchronous pieces by the products, with copies between MLX and numpy at each. ``decode.c``
runs the same layers (RMSNorm, q/k/v products with their biases, RoPE, grouped-query attention
over the row's own cache, the output product, SwiGLU MLP, the final norm and the output
projection) on the same weights -- the q8 or float32 copies the skinny products read -- with no
graph and no copies.

Weights once: by default a loaded model keeps its matrices in q8 alone (1.25 bytes a weight; see
:func:`engine.llm.cpu_kernels.quantize_model_q8`): decode steps read them with skinny.c's
kernels, prompts with decode.c's blocked q8 products (the weights of a chunk of output rows read
once from memory for all the prompt's rows, 8 rows at a time on the decode step's kernels, so a
row's result is the bits it gets alone), and a token's embedding row is dequantized from its q8
copy. ``FLUX_KEEP_F32=1`` keeps a float32 copy beside them (prompts then on OpenBLAS float32,
where the process has it).

A 4-bit model big enough for it (:func:`engine.llm.cpu.cpu_kernels.q4_wanted`: the 1.5B and 7B
Qwen2.5 imports) keeps no copy at all: its 4-bit and 8-bit matrices are read where MLX loaded
them, in MLX's affine layout (``q4.c``; fmt 2 and 3 in ``decode.c``'s matrix description), for
decode steps and prompts alike, and a token's embedding row is dequantized from its own 4-bit or
8-bit row. Its prompts' products take int8 activations (``q4i``: each prompt row quantized per 32
values with its own scales, the dots on the CPU's integer dot products -- AVX512-VNNI, AVX-VNNI
or AVX2 --, as llama.cpp runs its prompts; :func:`prefill_q4_wanted`), about four times the
float32 FMA path's speed; so do its decode steps' (``q4d``, where the kernel has AVX512-VNNI:
the weights read in place, each step row quantized the same way; :func:`decode_q4_wanted`,
``FLUX_DECODE_PRODUCTS=q4`` keeps float32 FMAs; recipe letter ``d``). No AMX packs are made for
such a model (bfloat16 would be 2 bytes a weight). ``FLUX_DECODE_WEIGHTS=q8`` gives it the q8
copies instead.

Prompts are prefilled here too (``dec_prefill``): on the OpenBLAS ``sgemm`` the process loaded
for MLX, in float32; or, on a CPU with AMX (Sapphire Rapids and later) whose OS grants the tile
state, on the tile unit in bfloat16, the weights packed once at load (:func:`pack_amx`; 2 bytes a
weight). There decode steps' products run on the tile unit too, when every matrix fits its tiles:
the q8 weights (reordered once, the same bytes) dequantized into bfloat16 tiles as they are read,
the activations as two bfloat16 parts (hi + lo, about 16 bits: bfloat16 alone cost the quality
guard's top-1 agreement, 0.942). A step then costs about the same at 1 and at 4 rows: the
products are the tile unit's, the dequantization is shared by the rows. ``FLUX_AMX=0`` keeps
OpenBLAS and skinny.c. Sampling runs here too (``dec_sample``).

:func:`decoder_for` says why a model is not covered (another architecture,
sliding-window layers, a RoPE variant other than the plain or precomputed-frequency ones, biases
on the output or MLP products, int8 activations); such a model decodes through MLX as before.

A row's KV cache is one float16 block (float32 where the compiler has no ``_Float16``), ``[layer][k|v][kv head][capacity][head dim]``
(:class:`RowKV`), filled from the prefill's MLX cache once and appended to by each step; its
capacity is the prompt plus the request's token budget, so it never grows in the common case.
:class:`NativeRows` stands in for mlx-lm's per-layer batch caches in a ``GenerationBatch``
(``extend``, ``filter``, ``extract``, ``nbytes``), and :class:`NativeForward` is the batch's
model: a call with a :class:`NativeRows` cache runs the C step.

Determinism: a row's logits depend on that row alone, bit for bit, whatever the other rows or
the thread split (see ``decode.c``). They differ from MLX's decode step in the last bits (other
summation orders), so a model decoding here has its own recipe in the model id (``n2``; ``b``
with bfloat16 prompt products, ``t`` with decode steps on the tile unit).
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ... import settings
from . import skinny

ARCHITECTURES = ("llama", "qwen2")
NAME = "whole decode step in C"
RECIPE = "n2"  # n2: attention scores 16 keys at a time (other last bits than "n")
KV_DTYPE = np.float16  # decode.c's kvt: the KV cache in float16, as llama.cpp keeps it (see build)


class _DMat(ctypes.Structure):
    _fields_ = [("fmt", ctypes.c_int), ("N", ctypes.c_int), ("K", ctypes.c_int),
                ("w", ctypes.c_void_p), ("s", ctypes.c_void_p), ("bias", ctypes.c_void_p),
                ("wf", ctypes.c_void_p), ("wb", ctypes.c_void_p), ("qp", ctypes.c_void_p),
                ("sp", ctypes.c_void_p), ("qs", ctypes.c_void_p), ("qb", ctypes.c_void_p), ("gs", ctypes.c_int),
                ("bf", ctypes.c_int)]


class _DModel(ctypes.Structure):
    _fields_ = [("n_layers", ctypes.c_int), ("hidden", ctypes.c_int), ("inter", ctypes.c_int),
                ("n_heads", ctypes.c_int), ("n_kv", ctypes.c_int), ("head_dim", ctypes.c_int),
                ("vocab", ctypes.c_int), ("rope_dims", ctypes.c_int), ("rope_trad", ctypes.c_int),
                ("eps", ctypes.c_float), ("attn_scale", ctypes.c_float), ("rope_scale", ctypes.c_float),
                ("inv_freq", ctypes.c_void_p), ("embed", ctypes.c_void_p), ("final_norm", ctypes.c_void_p),
                ("norms", ctypes.c_void_p), ("mats", ctypes.c_void_p), ("head", _DMat),
                ("embq", ctypes.c_void_p), ("embs", ctypes.c_void_p), ("prefill_idot", ctypes.c_int),
                ("emb4", ctypes.c_void_p), ("prefill_q4i", ctypes.c_int), ("decode_q4i", ctypes.c_int)]


class Unsupported(Exception):
    """The model has something ``decode.c`` does not do (the message says what)."""


def _np(a: Any, what: str) -> np.ndarray:
    """A float32, C-contiguous numpy array of an MLX array (a view where MLX allows it)."""
    v = np.array(a, copy=False)
    if v.dtype != np.float32:
        raise Unsupported(f"{what} is {v.dtype}, not float32")
    return v if v.flags.c_contiguous else np.ascontiguousarray(v)


@dataclass
class RowKV:
    """One row's KV cache: ``kv[layer, 0 | 1, kv head, position, d]`` (float16) and how many
    positions are filled."""

    kv: np.ndarray
    length: int

    @property
    def capacity(self) -> int:
        return int(self.kv.shape[3])

    def grow(self, extra: int) -> None:
        shape = list(self.kv.shape)
        shape[3] += max(extra, 16)
        kv = np.zeros(shape, KV_DTYPE)
        kv[:, :, :, :self.length] = self.kv[:, :, :, :self.length]
        self.kv = kv


class NativeRows:
    """The rows of a running batch, standing in for mlx-lm's list of per-layer batch caches
    (a ``GenerationBatch``'s ``prompt_cache`` is ``[NativeRows]``)."""

    def __init__(self, rows: list[RowKV]) -> None:
        self.rows = list(rows)

    def extend(self, other: "NativeRows") -> None:
        self.rows.extend(other.rows)

    def filter(self, keep: list[int]) -> None:
        self.rows = [self.rows[i] for i in keep]

    def extract(self, idx: int) -> RowKV:
        return self.rows[idx]

    @property
    def nbytes(self) -> int:
        return sum(r.kv.nbytes for r in self.rows)

    @property
    def state(self) -> list:
        return []

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class NativeDecoder:
    """A loaded model's description for ``decode.c``, and the arrays it points into (kept alive here)."""

    md: _DModel
    n_layers: int
    n_kv: int
    head_dim: int
    vocab: int
    weights: str  # "q4" (MLX's 4-bit matrices read in place, q8 for the others) | "q8" | "f32"
    keep: list = field(default_factory=list, repr=False)
    mats: Any = field(default=None, repr=False)  # the _DMat array decode.c reads
    # "blas-f32": OpenBLAS on the float32 copy; "q8" / "q8i": the blocked q8 products (q8i: int8
    # activations on AVX512-VNNI); "q4": the blocked 4-bit and 8-bit products (q4.c, float32 FMAs);
    # "q4i": the same matrices times int8 activations on integer dot products (q4.c's q4i);
    # "amx-bf16": on the AMX tile unit (pack_amx)
    prompt_products: str = "blas-f32"
    # "amx-bf16": decode steps' products on the tile unit too; "q4i": on a 4-bit model's matrices
    # with int8 activations (q4.c's q4d, AVX512-VNNI); "skinny": the float32 kernels
    step_products: str = "skinny"
    q8_only: bool = False  # no float32 copy: embeddings dequantized from q8, prompts on q8 products

    @property
    def recipe(self) -> str:
        """What this path adds to the model id: bfloat16 products (prompts: b, steps: t) give
        other bits, and so do prompts on q8 weights (q; i with int8 activations), embeddings
        from q8 (the float32 copy let go) and decode steps on int8 activations (d)."""
        q = {"q8": "q", "q8i": "i", "q4": "q", "q4i": "i"}.get(self.prompt_products, "")
        return (RECIPE + ("b" if self.prompt_products == "amx-bf16" else "") + q
                + {"amx-bf16": "t", "q4i": "d"}.get(self.step_products, ""))

    def _block(self, capacity: int) -> np.ndarray:
        """An empty KV cache block of ``capacity`` positions, in decode.c's layout and element type."""
        return np.zeros((self.n_layers, 2, self.n_kv, capacity, self.head_dim), KV_DTYPE)

    def new_row(self, caches: list, capacity: int) -> RowKV:
        """A :class:`RowKV` holding what the prefill left in mlx-lm's per-layer ``caches`` (evaluated)."""
        if len(caches) != self.n_layers:
            raise ValueError(f"{len(caches)} caches for {self.n_layers} layers")
        n = int(caches[0].offset)
        kv = self._block(max(capacity, n + 1))
        for i, c in enumerate(caches):
            if int(c.offset) != n:
                raise ValueError("layers of one prompt cache hold different lengths")
            kv[i, 0, :, :n] = np.array(c.keys[0, :, :n, :])
            kv[i, 1, :, :n] = np.array(c.values[0, :, :n, :])
        return RowKV(kv, n)

    @property
    def can_prefill(self) -> bool:
        """Whether prompts are prefilled here too: on q8 weights always; on float32 ones with the
        process's OpenBLAS (see :func:`attach`)."""
        lib = skinny.load()
        return lib is not None and (self.weights in ("q8", "q4") or bool(lib.dec_has_sgemm()))

    def row_from(self, head: RowKV | None, capacity: int) -> RowKV:
        """A new row of ``capacity`` positions holding a copy of ``head``'s (a cached prompt
        head's) keys and values, or empty."""
        n = 0 if head is None else head.length
        kv = self._block(max(capacity, n + 1))
        if head is not None:
            kv[:, :, :, :n] = head.kv[:, :, :, :n]
        return RowKV(kv, n)

    def prefill(self, row: RowKV, ids: Any, logits: bool = True, threads: int | None = None) -> np.ndarray | None:
        """Run the prompt ``ids`` into ``row`` (after what it holds); the last position's logits
        (vocab,) when ``logits``."""
        lib = skinny.load()
        toks = np.ascontiguousarray(np.asarray(ids, dtype=np.int32).reshape(-1))
        if toks.shape[0] < 1:
            raise ValueError("empty prompt")
        if row.length + toks.shape[0] > row.capacity:
            row.grow(row.length + toks.shape[0] - row.capacity + 1)
        out = np.empty(self.vocab, np.float32) if logits else None
        t = threads if threads is not None else skinny.threads_for[2]
        rc = lib.dec_prefill(ctypes.addressof(self.md), int(toks.shape[0]), toks.ctypes.data, row.kv.ctypes.data,
                             int(row.length), int(row.capacity), None if out is None else out.ctypes.data, int(t))
        if rc != 0:
            raise RuntimeError(f"dec_prefill failed ({rc})")
        row.length += int(toks.shape[0])
        return out

    def step_np(self, tokens: np.ndarray, rows: list[RowKV], threads: int | None = None) -> np.ndarray:
        """Logits (M, vocab) of one decode step: ``tokens[i]`` is the next input of ``rows[i]``,
        whose cache gets its keys and values."""
        lib = skinny.load()
        toks = np.ascontiguousarray(tokens, dtype=np.int32).reshape(-1)
        m_all = len(rows)
        if toks.shape[0] != m_all:
            raise ValueError(f"{toks.shape[0]} tokens for {m_all} rows")
        out = np.empty((m_all, self.vocab), np.float32)
        for r in rows:
            if r.length + 1 > r.capacity:
                r.grow(64)
        for i in range(0, m_all, skinny.MAX_ROWS):
            part = rows[i:i + skinny.MAX_ROWS]
            m = len(part)
            ptrs = (ctypes.c_void_p * m)(*[r.kv.ctypes.data for r in part])
            lens = np.array([r.length for r in part], np.int32)
            caps = np.array([r.capacity for r in part], np.int32)
            t = threads if threads is not None else skinny.threads_for[min(m, 2)]
            rc = lib.dec_step(ctypes.addressof(self.md), m, toks[i:i + m].ctypes.data, ptrs, lens.ctypes.data,
                              caps.ctypes.data, out[i:i + m].ctypes.data, int(t))
            if rc != 0:
                raise RuntimeError(f"dec_step failed ({rc})")
            for r in part:
                r.length += 1
        return out

    def step(self, inputs: Any, rows: NativeRows) -> Any:
        """:meth:`step_np` for MLX ``inputs`` (B, 1) token ids: MLX logits (B, 1, vocab)."""
        import mlx.core as mx

        logits = self.step_np(np.array(inputs).reshape(-1), rows.rows)
        return mx.array(logits)[:, None, :]


def sample(logits: np.ndarray, samplers: list) -> np.ndarray:
    """One token per row of ``logits`` (M, vocab; modified in place) for the
    :class:`~engine.llm.sampling.SeededSampler` of each row, in C (``dec_sample``): the repetition
    penalty on the row's own generated tokens (mlx-lm's rule: a positive logit divided by the
    penalty, a negative one multiplied), the keep bias on its keep ids not yet generated, then an
    inverse-CDF draw from softmax(logits / T) at the row's per-step uniform (greedy at T <= 0).
    Everything a row's token depends on is its own: batch-invariant. Through MLX the same
    distribution is drawn by Gumbel-max over MLX's random noise, which costs about a
    millisecond a row here (two logs per vocabulary entry on MLX's CPU backend)."""
    lib = skinny.load()
    m, vocab = logits.shape
    inv = np.empty(m, np.float32)
    us = np.empty(m, np.float64)
    for i, s in enumerate(samplers):
        row = logits[i]
        if s.penalty != 1.0 and s.seen_ids:
            idx = np.fromiter(s.seen_ids, dtype=np.int64, count=len(s.seen_ids))
            v = row[idx]
            row[idx] = np.where(v > 0, v / np.float32(s.penalty), v * np.float32(s.penalty))
        if s.keep_bias and s.keep_left:
            idx = np.fromiter((t for t in s.keep_left if 0 <= t < vocab), dtype=np.int64)
            row[idx] += np.float32(s.keep_bias)
        inv[i] = 1.0 / s.temperature if s.temperature > 0 else 0.0
        us[i] = s.next_uniform()
    out = np.empty(m, np.int32)
    if not logits.flags.c_contiguous or logits.dtype != np.float32:
        logits = np.ascontiguousarray(logits, dtype=np.float32)
    rc = lib.dec_sample(logits.ctypes.data, m, vocab, inv.ctypes.data, us.ctypes.data, out.ctypes.data)
    if rc != 0:
        raise RuntimeError(f"dec_sample failed ({rc})")
    for s, t in zip(samplers, out.tolist()):
        if s.penalty != 1.0:
            s.seen_ids.add(t)
        s.keep_left.discard(t)
    return out


class NativeForward:
    """A ``GenerationBatch``'s model: the C step for a ``[NativeRows]`` cache, the MLX model otherwise."""

    def __init__(self, model: Any, decoder: NativeDecoder) -> None:
        self.model = model
        self.decoder = decoder

    def __call__(self, inputs: Any, cache: Any = None, **kwargs: Any) -> Any:
        if isinstance(cache, list) and len(cache) == 1 and isinstance(cache[0], NativeRows) and not kwargs:
            return self.decoder.step(inputs, cache[0])
        return self.model(inputs, cache=cache, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)


# ----------------------------------------------------------------------------- building


def _rope(rope: Any, head_dim: int) -> tuple[int, int, float, np.ndarray]:
    import mlx.nn as nn

    if type(rope) is nn.RoPE:
        dims, base, scale = int(rope.dims), float(rope.base), float(rope.scale)
        inv = (1.0 / (base ** (np.arange(0, dims, 2, dtype=np.float64) / dims))).astype(np.float32)
        return dims, int(bool(rope.traditional)), scale, inv
    freqs = getattr(rope, "_freqs", None)
    if freqs is not None and hasattr(rope, "dims") and type(rope).__name__ == "Llama3RoPE":
        inv = (1.0 / np.array(freqs, dtype=np.float64)).astype(np.float32)
        return int(rope.dims), int(bool(getattr(rope, "traditional", False))), 1.0, inv
    raise Unsupported(f"RoPE variant {type(rope).__name__}")


def _q4_mat(q4: tuple, bias: np.ndarray | None, keep: list) -> tuple:
    """The _DMat fields of a 4-bit (fmt 2) or 8-bit (fmt 3) matrix read where MLX holds it."""
    wq, qs, qb, gs, bf, bits = q4
    keep.extend((wq, qs, qb))
    n, k = int(wq.shape[0]), int(wq.shape[1]) * 32 // int(bits)
    return (2 if bits == 4 else 3, n, k, wq.ctypes.data, 0, 0 if bias is None else bias.ctypes.data, 0, 0, 0, 0,
            qs.ctypes.data, qb.ctypes.data, int(gs), int(bf))


def _mat(mod: Any, what: str, keep: list, bias_ok: bool) -> tuple:
    q8 = mod.__dict__.get("_texture_q8")
    w = mod["weight"]
    bias = None
    if "bias" in mod:
        if not bias_ok:
            raise Unsupported(f"{what} has a bias")
        bias = _np(mod["bias"], f"{what}.bias")
        keep.append(bias)
    q4 = mod.__dict__.get("_texture_q4")
    if q4 is not None:
        return _q4_mat(q4, bias, keep)
    if q8 is not None and q8[0] is w and mod.__dict__.get("_texture_dropped"):  # q8 the only copy
        if q8[2]:
            raise Unsupported("int8 activations (q8i)")
        q, sb = q8[1]
        keep.extend((q, sb))
        return (1, int(q.shape[0]), int(q.shape[1]), q.ctypes.data, sb.ctypes.data,
                0 if bias is None else bias.ctypes.data, 0)
    n, k = int(w.shape[0]), int(w.shape[1])
    view = skinny.weight_view(w)
    if view is None:
        raise Unsupported(f"{what} is not a float32 matrix")
    keep.append(view)
    if q8 is not None and q8[0] is w:
        if q8[2]:
            raise Unsupported("int8 activations (q8i)")
        q, sb = q8[1]
        keep.extend((q, sb))
        return (1, n, k, q.ctypes.data, sb.ctypes.data, 0 if bias is None else bias.ctypes.data, view.ctypes.data)
    return (0, n, k, view.ctypes.data, 0, 0 if bias is None else bias.ctypes.data, view.ctypes.data)


def build(model: Any) -> NativeDecoder:
    """The :class:`NativeDecoder` of a loaded (and :func:`engine.llm.cpu_kernels.install`-ed)
    llama / qwen2 model; raises :class:`Unsupported` naming what it does not cover."""
    args = getattr(model, "args", None)
    arch = getattr(args, "model_type", None) or getattr(model, "model_type", None)
    if arch not in ARCHITECTURES:
        raise Unsupported(f"architecture {arch!r}")
    inner = getattr(model, "model", None)
    layers = list(getattr(inner, "layers", []) or [])
    if not layers:
        raise Unsupported("no layers")
    keep: list = []
    mats = (_DMat * (7 * len(layers)))()
    norms = (ctypes.c_void_p * (2 * len(layers)))()
    first = layers[0].self_attn
    n_heads, n_kv = int(first.n_heads), int(first.n_kv_heads)
    head_dim = _rows(first.q_proj) // n_heads
    dims, trad, rscale, inv = _rope(first.rope, head_dim)
    keep.append(inv)
    eps = float(layers[0].input_layernorm.eps)
    for i, layer in enumerate(layers):
        if getattr(layer, "use_sliding", False):
            raise Unsupported("sliding-window attention")
        at, mlp = layer.self_attn, layer.mlp
        if (int(at.n_heads), int(at.n_kv_heads)) != (n_heads, n_kv) or float(at.scale) != float(first.scale):
            raise Unsupported("layers of different shapes")
        if _rope(at.rope, head_dim)[:3] != (dims, trad, rscale):
            raise Unsupported("layers with different RoPE")
        for j, (mod, name, bias_ok) in enumerate(((at.q_proj, "q_proj", True), (at.k_proj, "k_proj", True),
                                                  (at.v_proj, "v_proj", True), (at.o_proj, "o_proj", False),
                                                  (mlp.gate_proj, "gate_proj", False), (mlp.up_proj, "up_proj", False),
                                                  (mlp.down_proj, "down_proj", False))):
            mats[7 * i + j] = _DMat(*_mat(mod, f"layer {i} {name}", keep, bias_ok))
        for j, nm in enumerate((layer.input_layernorm, layer.post_attention_layernorm)):
            if float(nm.eps) != eps:
                raise Unsupported("layers with different norm eps")
            w = _np(nm.weight, f"layer {i} norm")
            keep.append(w)
            norms[2 * i + j] = w.ctypes.data
    emb = inner.embed_tokens
    emb4 = None
    q8_only = bool(emb.__dict__.get("_texture_dropped")) or "_texture_q4" in emb.__dict__
    if "_texture_q4" in emb.__dict__:  # rows dequantized from the 4-bit embedding itself
        emb4 = _DMat(*_q4_mat(emb.__dict__["_texture_q4"], None, keep))
        keep.append(emb4)
        embed = None
        vocab, hidden = int(emb4.N), int(emb4.K)
    elif q8_only:  # no float32 table: rows dequantized from the embedding's q8 copy
        embq, embs = emb.__dict__["_texture_q8"][1]
        keep.extend((embq, embs))
        embed = None
        vocab, hidden = int(embq.shape[0]), int(embq.shape[1])
    else:
        embed = _np(emb.weight, "the embedding")
        keep.append(embed)
        vocab, hidden = int(embed.shape[0]), int(embed.shape[1])
    final = _np(inner.norm.weight, "the final norm")
    keep.append(final)
    if getattr(args, "tie_word_embeddings", False):
        head = _DMat(*_mat(emb, "the tied output projection", keep, False))
    else:
        head = _DMat(*_mat(model.lm_head, "lm_head", keep, False))
    inter = _rows(layers[0].mlp.gate_proj)
    if hidden % 16 or inter % 16 or head_dim % 16 or dims > head_dim or dims % 2:
        raise Unsupported(f"shapes (hidden {hidden}, intermediate {inter}, head {head_dim}) not multiples of 16")
    global KV_DTYPE
    KV_DTYPE = np.float16 if skinny.load().dec_kv_bytes() == 2 else np.float32
    keep.extend((mats, norms))
    if q8_only and not all(m.fmt in (1, 2, 3) and not m.wf for m in list(mats) + [head]):
        raise Unsupported("a matrix without its q8 or 4-bit copy")
    q8_emb = q8_only and emb4 is None
    md = _DModel(len(layers), hidden, inter, n_heads, n_kv, head_dim, vocab, dims, trad, eps, float(first.scale),
                 rscale, inv.ctypes.data, None if embed is None else embed.ctypes.data, final.ctypes.data,
                 ctypes.addressof(norms), ctypes.addressof(mats), head,
                 embq.ctypes.data if q8_emb else None, embs.ctypes.data if q8_emb else None, 0,
                 None if emb4 is None else ctypes.addressof(emb4))
    fmts = {m.fmt for m in list(mats) + [head]}
    weights = "q4" if fmts & {2, 3} else "q8" if 1 in fmts else "f32"
    dec = NativeDecoder(md, len(layers), n_kv, head_dim, vocab, weights, keep, mats, q8_only=q8_only)
    if weights == "q4":
        dec.prompt_products = "q4"
    elif q8_only:
        dec.prompt_products = "q8"
    return dec


def _rows(mod: Any) -> int:
    """Output rows of a Linear (its q8 copy's where the float32 weight was let go)."""
    if "_texture_q4" in mod.__dict__:
        return int(mod.__dict__["_texture_q4"][0].shape[0])
    q8 = mod.__dict__.get("_texture_q8")
    if mod.__dict__.get("_texture_dropped") and q8 is not None:
        return int(q8[1][0].shape[0])
    return int(mod["weight"].shape[0])


def _aligned(n: int, dtype: Any, align: int = 64) -> np.ndarray:
    """An empty array of n elements whose data starts on an ``align``-byte boundary (AMX tile
    loads that cross cache lines cost ~1.4x)."""
    item = np.dtype(dtype).itemsize
    raw = np.empty(n * item + align, np.uint8)
    off = (-raw.ctypes.data) % align
    return raw[off:off + n * item].view(dtype)


def pack_amx(dec: NativeDecoder) -> str:
    """Pack every layer's weights in bfloat16 for the AMX tile unit, so that prompts' products run
    there (2 bytes a weight more memory); what was done, or why not."""
    lib = skinny.load()
    if settings.amx_off():
        return "AMX off (FLUX_AMX=0)"
    if dec.weights == "q4":  # bfloat16 packs would cost 2 bytes a weight beside the 4-bit ones
        return "AMX not used: 4-bit weights are kept as they are, no bfloat16 packs"
    if lib is None or not lib.dec_amx_compiled():
        return "no AMX-BF16 on this CPU"
    if not lib.dec_amx_enable(1):
        return "the OS did not grant the AMX tile state"
    packed = 0
    for m in dec.mats:
        if m.N % 32 or m.K % 32 or not (m.wf or m.fmt == 1):
            continue
        out = _aligned(m.N * m.K, np.uint16)
        src = m.wf
        if not src:  # no float32 copy: this matrix's q8 weights dequantized, one matrix at a time
            q = np.ctypeslib.as_array((ctypes.c_uint8 * (m.N * m.K)).from_address(m.w)).reshape(m.N, m.K)
            sb = np.ctypeslib.as_array((ctypes.c_float * (m.N * m.K // 16)).from_address(m.s))
            tmp = skinny.dequantize_q8(q, sb.reshape(m.N, m.K // skinny.Q8_GROUP, 2))
            src = tmp.ctypes.data
        if lib.dec_pack_bf16(src, m.N, m.K, out.ctypes.data) != 0:
            continue
        dec.keep.append(out)
        m.wb = out.ctypes.data
        packed += out.nbytes
    if not packed:
        return "no matrix of AMX-sized shapes"
    dec.prompt_products = "amx-bf16"
    said = f"prompts' products on AMX in bfloat16 ({packed / 2**20:.0f} MiB packed)"
    # Decode steps too, from the q8 weights dequantized into tiles as they are read: only when
    # every matrix, the output projection included, can (a step is all on one kernel or the other).
    allm = list(dec.mats) + [dec.md.head]
    if all(m.fmt == 1 and m.N % 16 == 0 and m.K % 32 == 0 for m in allm):
        reordered = 0
        for m in allm:
            qp, sp = _aligned(m.N * m.K, np.uint8), _aligned(m.N * m.K // 16, np.float32)
            if lib.dec_pack_q8(m.w, m.s, m.N, m.K, qp.ctypes.data, sp.ctypes.data) != 0:
                raise RuntimeError("dec_pack_q8 refused a matrix it was checked for")
            dec.keep.extend((qp, sp))
            m.qp, m.sp = qp.ctypes.data, sp.ctypes.data
            reordered += qp.nbytes + sp.nbytes
        dec.step_products = "amx-bf16"
        said += f", decode steps' too (q8 dequantized into bfloat16 tiles; {reordered / 2**20:.0f} MiB reordered)"
    else:
        said += ", decode steps' on the q8 kernel (a matrix does not fit the tiles)"
    return said


_why: dict[str, str] = {"status": "no model loaded yet"}


def prefill_products_wanted() -> str:
    """"q8" or "q8i": how prompts' products run on the q8 weights when no float32 copy is kept.
    ``FLUX_PREFILL_PRODUCTS=q8i`` asks int8 activations (AVX512-VNNI vpdpbusd; each row quantized
    per 32 values with its own scales, so a row's result still depends on that row alone), where
    the CPU has it; q8 (float32 FMAs on the dequantized weights) otherwise."""
    want = settings.prefill_products()
    if want == "q8i" and skinny.q8i_support()[0]:
        return "q8i"
    return "q8"


Q4I_PATHS = {3: "AVX512-VNNI", 2: "256-bit VNNI", 1: "AVX2", 0: "plain C"}


def q4i_path() -> tuple[int, str]:
    """The integer dot-product path the kernel was built with for this CPU (-march=native): 3
    AVX512-VNNI, 2 AVX-VNNI (or AVX512-VNNI without 512-bit byte operations), 1 AVX2, 0 plain C;
    (-1, why) without the kernel."""
    lib = skinny.load()
    if lib is None:
        return -1, f"kernel unavailable ({skinny.status()})"
    p = int(lib.dec_q4i_path())
    return p, Q4I_PATHS.get(p, f"path {p}")


def prefill_q4_wanted() -> str:
    """"q4i" or "q4": how prompts' products run on a model's 4-bit and 8-bit matrices. q4i (the
    default where the CPU has integer dot products: AVX512-VNNI, AVX-VNNI or AVX2) quantizes each
    prompt row to int8 per 32 values with its own scales (so a row's result still depends on that
    row alone, and every path gives the same bits); ``FLUX_PREFILL_PRODUCTS=q4`` keeps float32
    FMAs on the dequantized weights, ``=q4i`` asks int8 even on the plain C path."""
    want = settings.prefill_products()
    if want == "q4":
        return "q4"
    if want == "q4i":
        return "q4i"
    return "q4i" if q4i_path()[0] >= 1 else "q4"


def decode_q4_wanted() -> str:
    """"q4i" or "q4": how decode steps' products run on a model's 4-bit and 8-bit matrices. q4i
    (the default where the kernel has AVX512-VNNI: q4.c's q4d) quantizes each row of a step to
    int8 per 32 values with its own scales, as the prompts' q4i does (a row's result depends on
    that row alone); ``FLUX_DECODE_PRODUCTS=q4`` keeps float32 FMAs on the dequantized weights,
    ``=q4i`` asks int8 even on the portable path (the same bits, slower)."""
    want = settings.decode_products()
    if want in ("q4", "q4i"):  # q4i asks it even on the portable path
        return want
    lib = skinny.load()
    return "q4i" if lib is not None and int(lib.dec_q4d_path()) else "q4"


def step_q4_said(dec: "NativeDecoder") -> str:
    """The decode step's kernel on a 4-bit model, in words (doctor, bench)."""
    if dec.step_products == "q4i":
        lib = skinny.load()
        how = "AVX512-VNNI vpdpbusd" if lib is not None and int(lib.dec_q4d_path()) else "portable C"
        return ("decode steps on int8 activations (q4.c's q4d: the 4-bit and 8-bit weights read in place, "
                f"{how}; FLUX_DECODE_PRODUCTS=q4 keeps float32 FMAs)")
    why = ("FLUX_DECODE_PRODUCTS=q4" if settings.decode_products() == "q4"
           else "no AVX512-VNNI in this build")
    return f"decode steps on float32 FMAs (the weights dequantized in registers; {why})"


def enable_prefill() -> bool:
    """Hand the kernel the ``cblas_sgemm`` of the OpenBLAS this process loaded for MLX, so that
    prompts are prefilled in C; whether it now can (no OpenBLAS: no)."""
    from .fastpath import sgemm_address

    lib = skinny.load()
    if lib is None:
        return False
    lib.dec_set_sgemm(sgemm_address())
    return bool(lib.dec_has_sgemm())


def attach(model: Any) -> NativeDecoder | None:
    """Build and attach the decoder to ``model`` (``FLUX_NATIVE_DECODE=0``: never); None, with the
    reason in :func:`status`, when the model is not covered or the kernel did not build."""
    object.__setattr__(model, "_texture_native", None)
    if settings.native_decode_off():
        _why["status"] = "off (FLUX_NATIVE_DECODE=0): decode steps run through MLX"
        return None
    if skinny.load() is None:
        _why["status"] = f"kernel unavailable ({skinny.status()})"
        return None
    try:
        dec = build(model)
    except Unsupported as e:
        _why["status"] = f"not used: {e} (decode steps run through MLX)"
        return None
    object.__setattr__(model, "_texture_native", dec)
    blas = enable_prefill()
    if dec.weights == "q4":
        dec.prompt_products = prefill_q4_wanted()
        dec.md.prefill_q4i = int(dec.prompt_products == "q4i")
        if decode_q4_wanted() == "q4i":
            dec.step_products = "q4i"
        dec.md.decode_q4i = int(dec.step_products == "q4i")
    elif dec.weights == "q8" and (dec.q8_only or not blas):  # prompts on the q8 weights too
        dec.prompt_products = prefill_products_wanted()
        dec.md.prefill_idot = int(dec.prompt_products == "q8i")
    if dec.can_prefill:
        amx = pack_amx(dec)
        if dec.prompt_products == "amx-bf16":
            prefill = "prompts prefilled here too; " + amx
        elif dec.prompt_products == "q4":
            prefill = f"prompts prefilled here too, on the blocked 4-bit products (q4.c, float32 FMAs; {amx})"
        elif dec.prompt_products == "q4i":
            prefill = ("prompts prefilled here too, on the blocked 4-bit products with int8 activations "
                       f"(q4.c's q4i, {q4i_path()[1]}; {amx})")
        elif dec.prompt_products in ("q8", "q8i"):
            how = ("int8 activations on AVX512-VNNI (q8i)" if dec.prompt_products == "q8i"
                   else "dequantized in registers to float32 FMAs")
            prefill = f"prompts prefilled here too, on the blocked q8 products ({how}; {amx})"
        else:
            prefill = f"prompts prefilled here too, on OpenBLAS float32 products ({amx})"
    else:
        prefill = "prompts prefilled through MLX (no OpenBLAS in the process)"
    if dec.weights == "q4":
        prefill += ("; MLX's 4-bit and 8-bit matrices read where MLX holds them, no copy, no float32 copy; "
                    "embeddings dequantized from their own rows; " + step_q4_said(dec))
    elif dec.q8_only:
        prefill += "; no float32 copy of the matrices kept (embeddings dequantized from q8)"
    _why["status"] = f"on: {NAME}, {dec.weights} weights; {prefill}"
    return dec


def decoder_for(model: Any) -> NativeDecoder | None:
    """The decoder :func:`attach` gave ``model``, or None."""
    return getattr(model, "__dict__", {}).get("_texture_native")


def detach(model: Any) -> None:
    getattr(model, "__dict__", {}).pop("_texture_native", None)


def status() -> str:
    return _why["status"]
