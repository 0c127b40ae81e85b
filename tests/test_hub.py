"""`texture models pull REPO_ID`: models from the Hugging Face hub, tested the way the hub library
supports offline use (a populated cache with HF_HUB_OFFLINE=1) and with an unreachable endpoint."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import conftest_llm as C  # noqa: E402
import hub_cache  # noqa: E402

from engine.llm.models.gguf_import import import_gguf  # noqa: E402
from engine.llm.models.hub import parse_repo_ref  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
pytest.importorskip("huggingface_hub")
pytest.importorskip("mlx_lm")


def run_cli(args: list[str], env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    full = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    full.pop("FLUX_LLM_MODEL_PATH", None) if "FLUX_LLM_MODEL_PATH" not in env else None
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=ROOT, env=full,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Two GGUF files of one repo (Qwen2.5 Q4_K_M-shaped and a Q8_0 one) and an MLX folder."""
    root = tmp_path_factory.mktemp("hubfiles")
    q4 = C.write_qwen25_q4_k_m(root / "tiny-qwen2.5-instruct-q4_k_m.gguf")
    q8 = C.write_synthetic(root / "tiny-qwen2.5-instruct-q8_0.gguf", "qwen2", seed=3)
    mlx_folder = import_gguf(q8.path, root / "mlx", "tiny-mlx")
    (root / "split").mkdir()
    C.write_synthetic(root / "split" / "big-q4_k_m.gguf", "qwen2", seed=4, split_max_tensors=12)
    return {"q4": q4.path, "q8": q8.path, "mlx": mlx_folder, "split": sorted((root / "split").glob("*.gguf"))}


@pytest.fixture
def hub(tmp_path, files):
    cache = tmp_path / "hub"
    hub_cache.populate(cache, "acme/Tiny-Qwen2.5-Instruct-GGUF", {
        "README.md": b"# tiny\n",
        "tiny-qwen2.5-instruct-q4_k_m.gguf": files["q4"],
        "tiny-qwen2.5-instruct-q8_0.gguf": files["q8"],
    })
    hub_cache.populate(cache, "acme/Tiny-Split-GGUF", {p.name: p for p in files["split"]})
    hub_cache.populate(cache, "acme/Broken-Split-GGUF", {p.name: p for p in files["split"][:-1]})
    mlx_files = {p.name: p for p in files["mlx"].iterdir() if p.is_file()}
    hub_cache.populate(cache, "mlx-community/Tiny-4bit", mlx_files)
    env = {"HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "FLUX_MODELS_DIR": str(tmp_path / "models"),
           "HF_HUB_DISABLE_TELEMETRY": "1"}
    return env, tmp_path


def test_repo_references():
    assert parse_repo_ref("mlx-community/Qwen2.5-7B-Instruct-4bit") == ("mlx-community/Qwen2.5-7B-Instruct-4bit", None)
    assert parse_repo_ref("Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M") == ("Qwen/Qwen2.5-0.5B-Instruct-GGUF", "Q4_K_M")
    assert parse_repo_ref("a/b:file-q8_0.gguf") == ("a/b", "file-q8_0.gguf")
    for not_repo in ("smollm2-135m-instruct", "/abs/path", "./rel/path", "~/m/x", "a/b/c", "../x", "x.gguf", "a/b.gguf", ""):
        assert parse_repo_ref(not_repo) is None, not_repo


def test_pull_gguf_repo_from_offline_cache_by_quant_and_reuse(hub):
    env, tmp = hub
    r = run_cli(["models", "pull", "acme/Tiny-Qwen2.5-Instruct-GGUF", "--quant", "Q8_0"], env)
    assert r.returncode == 0, r.stderr
    folder = tmp / "models" / "tiny-qwen2.5-instruct-q8_0"
    assert (folder / "model.safetensors").is_file()
    prov = json.loads((folder / "gguf_import.json").read_text())
    assert prov["hub"] == {"repo": "acme/Tiny-Qwen2.5-Instruct-GGUF", "file": "tiny-qwen2.5-instruct-q8_0.gguf", "revision": "main"}
    assert "local cache" in r.stderr and "FLUX_LLM_MODEL_PATH=acme/Tiny-Qwen2.5-Instruct-GGUF:Q8_0" in r.stdout
    again = run_cli(["models", "pull", "acme/Tiny-Qwen2.5-Instruct-GGUF:Q8_0"], env)
    assert again.returncode == 0 and "already imported" in again.stderr, again.stderr
    # no quant given, several files: the Q4_K_M one (the usual choice)
    r = run_cli(["models", "pull", "acme/Tiny-Qwen2.5-Instruct-GGUF"], env)
    assert r.returncode == 0, r.stderr
    assert (tmp / "models" / "tiny-qwen2.5-instruct-q4_k_m" / "model.safetensors").is_file()
    # the repo reference names the model wherever a model is named
    ls = run_cli(["models", "list"], {**env, "FLUX_LLM_MODEL_PATH": "acme/Tiny-Qwen2.5-Instruct-GGUF:Q8_0"})
    assert ls.returncode == 0, ls.stderr
    active = [line for line in ls.stdout.splitlines() if line.startswith("*")]
    assert len(active) == 1 and "tiny-qwen2.5-instruct-q8_0" in active[0], ls.stdout


def test_pull_by_file_and_clear_errors(hub):
    env, _tmp = hub
    r = run_cli(["models", "pull", "acme/Tiny-Qwen2.5-Instruct-GGUF", "--file", "tiny-qwen2.5-instruct-q4_k_m.gguf"], env)
    assert r.returncode == 0, r.stderr
    cases = [
        (["acme/Tiny-Qwen2.5-Instruct-GGUF", "--quant", "Q3_K_S"], "has no Q3_K_S GGUF file (quantizations there: Q4_K_M, Q8_0)"),
        (["acme/Tiny-Qwen2.5-Instruct-GGUF", "--file", "nope.gguf"], "has no file 'nope.gguf'"),
        (["acme/Broken-Split-GGUF"], "split GGUF file big-q4_k_m: part(s) big-q4_k_m-0000"),
        (["acme/Not-Cached"], "not in the local Hugging Face cache and HF_HUB_OFFLINE=1 forbids downloading it"),
        (["--quant", "Q4_K_M"], "need a REPO_ID"),
    ]
    for args, msg in cases:
        r = run_cli(["models", "pull", *args], env)
        assert r.returncode == 2 and msg in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)


def test_pull_split_gguf_repo_downloads_and_imports_every_part(hub, files):
    env, tmp = hub
    r = run_cli(["models", "pull", "acme/Tiny-Split-GGUF", "--quant", "Q4_K_M"], env)
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("downloading acme/Tiny-Split-GGUF/big-q4_k_m-") == len(files["split"]) >= 2
    prov = json.loads((tmp / "models" / "big-q4_k_m" / "gguf_import.json").read_text())
    assert prov["parts"] == len(files["split"]) and prov["hub"]["file"].endswith("-00001-of-%05d.gguf" % len(files["split"]))


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_unreachable_hub_is_a_clear_message(tmp_path):
    env = {"HF_HUB_CACHE": str(tmp_path / "empty-cache"), "HF_ENDPOINT": f"http://127.0.0.1:{_closed_port()}",
           "FLUX_MODELS_DIR": str(tmp_path / "models"), "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_ETAG_TIMEOUT": "2"}
    r = run_cli(["models", "pull", "acme/Anything-GGUF"], {**env, "HF_HUB_OFFLINE": "0"}, timeout=120)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "cannot reach the Hugging Face hub to fetch acme/Anything-GGUF" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())


def test_mlx_repo_is_used_as_it_is_and_generates_via_flux_llm_model_path(hub):
    env, tmp = hub
    r = run_cli(["models", "pull", "mlx-community/Tiny-4bit"], env)
    assert r.returncode == 0, r.stderr
    snap = Path(r.stdout.split("model ready: ", 1)[1].splitlines()[0])
    assert snap.is_relative_to(tmp / "hub") and (snap / "config.json").is_file()
    assert not (tmp / "models").exists() or not any((tmp / "models").iterdir())  # nothing copied
    code = (
        "import json, mlx_lm\n"
        "from engine.llm.service import _loader\n"
        "from engine.config import load_config\n"
        "cfg = load_config()\n"
        "lm = _loader(cfg, print)()\n"
        "text = mlx_lm.generate(lm.model, lm.tokenizer, 'hello world', max_tokens=5, verbose=False)\n"
        "print(json.dumps({'path': lm.info['path'], 'name': lm.info['name'], 'text': text}))\n"
    )
    full = {**os.environ, "PYTHONPATH": str(ROOT), **env, "FLUX_LLM_MODEL_PATH": "mlx-community/Tiny-4bit"}
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=full, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert Path(out["path"]) == snap and isinstance(out["text"], str)


def test_flux_llm_model_path_repo_id_fetches_a_gguf_repo_on_first_use(hub):
    env, tmp = hub
    code = (
        "import json\n"
        "from engine.llm.service import _loader\n"
        "from engine.config import load_config\n"
        "lm = _loader(load_config(), lambda m: print('LOG', m))()\n"
        "print(json.dumps({'path': lm.info['path']}))\n"
    )
    full = {**os.environ, "PYTHONPATH": str(ROOT), **env, "FLUX_LLM_MODEL_PATH": "acme/Tiny-Qwen2.5-Instruct-GGUF:Q4_K_M"}
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=full, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "LOG fetching acme/Tiny-Qwen2.5-Instruct-GGUF:Q4_K_M from the Hugging Face hub" in p.stdout
    path = Path(json.loads(p.stdout.strip().splitlines()[-1])["path"])
    assert path == (tmp / "models" / "tiny-qwen2.5-instruct-q4_k_m").resolve()


def test_models_pull_without_argument_is_still_the_default_wheel():
    from cli.main import build_parser

    a = build_parser().parse_args(["models", "pull"])
    assert a.repo is None and a.file is None and a.quant is None
