"""The cluster choice without a cluster: FLUX_CLUSTER / texture.toml / --cluster parse, a
single-machine batch never imports Ray, and without Ray `--cluster` says how to install the
extra (these run whether or not Ray is installed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import engine
from engine.config import ConfigError, load_config

ROOT = str(Path(engine.__file__).resolve().parent.parent)


def test_cluster_setting_from_env_file_and_flag(tmp_path):
    assert load_config(env={}).cluster == "" and load_config(env={}).cluster_workers == 0
    assert load_config(env={"FLUX_CLUSTER": "auto"}).cluster == "auto"
    assert load_config(env={"FLUX_CLUSTER": "on"}).cluster == "auto"
    assert load_config(env={"FLUX_CLUSTER": "off"}).cluster == ""
    assert load_config(env={"FLUX_CLUSTER": "10.0.0.5:6379"}).cluster == "10.0.0.5:6379"
    assert load_config(env={"FLUX_CLUSTER_WORKERS": "3"}).cluster_workers == 3
    f = tmp_path / "texture.toml"
    f.write_text('[llm]\ncluster = "ray://head:10001"\ncluster_workers = 4\n')
    cfg = load_config(env={}, config_file=f)
    assert (cfg.cluster, cfg.cluster_workers) == ("ray://head:10001", 4)
    assert load_config(env={"FLUX_CLUSTER": "off"}, config_file=f).cluster == ""  # env beats the file
    with pytest.raises(ConfigError, match="FLUX_CLUSTER='a b' is not valid"):
        load_config(env={"FLUX_CLUSTER": "a b"})
    with pytest.raises(ConfigError, match="FLUX_CLUSTER_WORKERS"):
        load_config(env={"FLUX_CLUSTER_WORKERS": "-1"})


def _run(code: str, home: Path, **env) -> subprocess.CompletedProcess:
    e = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_")}
    e.update(TEXTURE_HOME=str(home), PYTHONPATH=ROOT, TEXTURE_SCRIPTED="1", **env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=e, cwd=str(home))


def test_a_single_machine_batch_never_imports_ray(tmp_path):
    code = ("import sys, json; from cli.main import main; rc = main(['batch', '--limit', '40', '--json']); "
            "print(json.dumps({'rc': rc, 'ray': any(m == 'ray' or m.startswith('ray.') for m in sys.modules)}))")
    r = _run(code, tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out == {"rc": 0, "ray": False}
    summary = json.loads(r.stdout.strip().splitlines()[-2])
    assert summary["places"] == 40 and summary["by_source"].get("llm", 0) > 0


def test_without_ray_the_cluster_flag_says_how_to_install_the_extra(tmp_path):
    # sys.modules["ray"] = None makes `import ray` fail as if Ray were not installed.
    code = "import sys; sys.modules['ray'] = None; from cli.main import main; sys.exit(main(['batch', '--limit', '40', '--cluster']))"
    r = _run(code, tmp_path)
    assert r.returncode == 2, (r.stdout, r.stderr)
    line = r.stderr.strip().splitlines()[-1]
    assert line.startswith("texture batch: error: running on a cluster needs Ray, which is not installed")
    assert "pip install -e '.[cluster]'" in line and "Traceback" not in r.stderr
    # nothing half-done: no batch was started
    db = tmp_path / "texture.db"
    if db.exists():
        import sqlite3

        assert sqlite3.connect(db).execute("SELECT count(*) FROM results").fetchone()[0] == 0


def test_a_batch_with_nothing_for_the_model_needs_no_cluster(tmp_path):
    # Template-only places never start the cluster (nor import Ray), even with --cluster.
    code = ("import sys, json; sys.modules['ray'] = None; from cli.main import main; "
            "sys.exit(main(['batch', '--tier', 'template', '--limit', '5', '--cluster', '--json']))")
    r = _run(code, tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads(r.stdout.strip().splitlines()[-1])["by_source"] == {"template": 5}


def test_a_cluster_address_where_nothing_listens_fails_fast_and_clearly():
    import socket

    from engine.cluster import ClusterError, _probe

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with pytest.raises(ClusterError, match=rf"no Ray cluster answers at 127.0.0.1:{port} .*ray start --head"):
        _probe(f"127.0.0.1:{port}")
    with pytest.raises(ClusterError, match="is not valid: use HOST:PORT"):
        _probe("just-a-host")
