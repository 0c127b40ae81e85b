"""Configuration: the seed document's ``FLUX_LLM_*`` variables, a config file, CLI flags.

Precedence (highest first): command-line flags, environment, the config file
(``texture.toml`` in the data folder, or ``--config``), defaults. Defaults are the seed's, except
that the LLM is on whenever a model is available (``FLUX_LLM_ENABLED=false`` turns it off) and the
deadline is ``auto``: derived per tier from its token budget and the measured decode rate (the
seed's 2,000 ms cannot fit its own 150-token descriptions at 60 tok/s; see ``engine.dispatch``).
An invalid value is a :class:`ConfigError` naming the variable, the value and the accepted range.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping
from .errors import TextureError

TIERS = ("template", "light", "full", "premium")


class ConfigError(TextureError, ValueError):
    pass


@dataclass(frozen=True)
class Config:
    enabled: bool = True
    model_path: str = ""  # "" = the default model in models/
    concurrency: int = 4
    timeout_ms: int | None = None  # None = auto (per tier, from budget and measured rate)
    fallback_threshold: float = 0.1
    short_term: bool = False
    medium_term: bool = True
    long_term: bool = True
    temperature: float = 0.5  # 0.5 keeps the facts a rewrite copies (0.7 invents, 0.3 echoes)
    budgets: dict = field(default_factory=lambda: {"light": 80, "full": 120, "premium": 150})
    prompts_dir: str = ""  # "" = <data dir>/prompts
    cluster: str = ""  # "" = this machine; "auto" = a local Ray instance; else a Ray address (engine.cluster)
    cluster_workers: int = 0  # Ray actors for a cluster batch; 0 = one per two CPUs of the cluster
    # The texture service (engine.service): cycle cadence bounds and the model work per cycle.
    cycle_min_s: float = 30.0
    cycle_max_s: float = 300.0
    cycle_max_llm: int = 50
    # engine.quality: the merge gate and the generation that keeps the facts.
    min_quality: float = 0.8  # FLUX_LLM_MIN_QUALITY: an LLM text scoring less keeps the template
    quality_gate: bool = True  # FLUX_LLM_QUALITY_GATE=false: validation only (the merge before the gate)
    candidates: int = 1  # FLUX_LLM_CANDIDATES: best of N seeded candidates per place
    repetition_penalty: float = 1.1  # FLUX_LLM_REPETITION_PENALTY over the request's own tokens (1 = off)
    stop_sentences: int = 3  # FLUX_LLM_STOP_SENTENCES: end a request after this many sentences (0 = budget only)
    keep_bias: float = 2.0  # FLUX_LLM_KEEP_BIAS: logit bias toward a sentence's fact words (engine.compose; 0 = off)
    # FLUX_LLM_ENHANCE (engine.enhance): auto (the mode blind reviews allow for the model), off, or a
    # generation mode: sentence, rewrite, enrich.
    enhance: str = "auto"
    # FLUX_LLM_JUDGE (engine.judge): ask the batch's own model, when its judge is trusted (measured
    # by `texture eval --judge`), whether an accepted LLM text beats its template.
    judge: bool = False

    def as_dict(self) -> dict:
        return asdict(self)

    def timeout_label(self) -> str:
        return "auto" if self.timeout_ms is None else f"{self.timeout_ms} ms"


def _bool(name: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    s = str(raw).strip().lower()
    if s in ("1", "true", "yes", "on"):
        return True
    if s in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r} is not valid: use true or false")


def _int(name: str, raw: Any, lo: int, hi: int) -> int:
    try:
        if isinstance(raw, bool):
            raise ValueError
        v = int(str(raw).strip()) if not isinstance(raw, int) else raw
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not valid: use a whole number from {lo} to {hi}") from None
    if not lo <= v <= hi:
        raise ConfigError(f"{name}={raw!r} is out of range: use a whole number from {lo} to {hi}")
    return v


def _float(name: str, raw: Any, lo: float, hi: float) -> float:
    try:
        if isinstance(raw, bool):
            raise ValueError
        v = float(str(raw).strip()) if not isinstance(raw, (int, float)) else float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not valid: use a number from {lo:g} to {hi:g}") from None
    if not (lo <= v <= hi):  # also rejects NaN
        raise ConfigError(f"{name}={raw!r} is out of range: use a number from {lo:g} to {hi:g}")
    return v


def _timeout(name: str, raw: Any) -> int | None:
    if raw is None or str(raw).strip().lower() in ("", "auto"):
        return None
    return _int(name, raw, 100, 600_000)


def _cluster(name: str, raw: Any) -> str:
    s = str(raw).strip()
    if s.lower() in ("", "off", "false", "no", "none", "0"):
        return ""
    if s.lower() in ("auto", "true", "yes", "on", "1", "local"):
        return "auto"
    if any(ch.isspace() for ch in s) or len(s) > 300:
        raise ConfigError(f"{name}={raw!r} is not valid: use auto, off, or a Ray address such as 10.0.0.5:6379")
    return s


# variable -> (config field, parser). Config-file keys are the lower-case names without the prefix.
_VARS = {
    "FLUX_LLM_ENABLED": ("enabled", _bool),
    "FLUX_LLM_MODEL_PATH": ("model_path", lambda n, v: str(v)),
    "FLUX_LLM_CONCURRENCY": ("concurrency", lambda n, v: _int(n, v, 1, 8)),
    "FLUX_LLM_TIMEOUT": ("timeout_ms", _timeout),
    "FLUX_LLM_FALLBACK_THRESHOLD": ("fallback_threshold", lambda n, v: _float(n, v, 0.0, 1.0)),
    "FLUX_LLM_SHORT_TERM": ("short_term", _bool),
    "FLUX_LLM_MEDIUM_TERM": ("medium_term", _bool),
    "FLUX_LLM_LONG_TERM": ("long_term", _bool),
    "FLUX_LLM_TEMPERATURE": ("temperature", lambda n, v: _float(n, v, 0.0, 2.0)),
    "FLUX_LLM_BUDGET_LIGHT": ("budget:light", lambda n, v: _int(n, v, 8, 1024)),
    "FLUX_LLM_BUDGET_FULL": ("budget:full", lambda n, v: _int(n, v, 8, 1024)),
    "FLUX_LLM_BUDGET_PREMIUM": ("budget:premium", lambda n, v: _int(n, v, 8, 1024)),
    "FLUX_PROMPTS_DIR": ("prompts_dir", lambda n, v: str(v)),
    "FLUX_CLUSTER": ("cluster", _cluster),
    "FLUX_CLUSTER_WORKERS": ("cluster_workers", lambda n, v: _int(n, v, 0, 256)),
    "FLUX_CYCLE_MIN_S": ("cycle_min_s", lambda n, v: _float(n, v, 0.0, 86400.0)),
    "FLUX_CYCLE_MAX_S": ("cycle_max_s", lambda n, v: _float(n, v, 0.0, 86400.0)),
    "FLUX_CYCLE_MAX_LLM": ("cycle_max_llm", lambda n, v: _int(n, v, 0, 100_000)),
    "FLUX_LLM_MIN_QUALITY": ("min_quality", lambda n, v: _float(n, v, 0.0, 1.0)),
    "FLUX_LLM_QUALITY_GATE": ("quality_gate", _bool),
    "FLUX_LLM_CANDIDATES": ("candidates", lambda n, v: _int(n, v, 1, 8)),
    "FLUX_LLM_REPETITION_PENALTY": ("repetition_penalty", lambda n, v: _float(n, v, 1.0, 2.0)),
    "FLUX_LLM_STOP_SENTENCES": ("stop_sentences", lambda n, v: _int(n, v, 0, 10)),
    "FLUX_LLM_KEEP_BIAS": ("keep_bias", lambda n, v: _float(n, v, 0.0, 10.0)),
    "FLUX_LLM_ENHANCE": ("enhance", lambda n, v: _enhance(n, v)),
    "FLUX_LLM_JUDGE": ("judge", _bool),
}


def _enhance(name: str, raw: Any) -> str:
    from .enhance import SETTINGS

    s = str(raw).strip().lower() or "auto"
    if s not in SETTINGS:
        raise ConfigError(f"{name}={raw!r} is not valid: use one of {', '.join(SETTINGS)}")
    return s


def _apply(cfg: Config, values: Mapping[str, Any], label: str) -> Config:
    changes: dict[str, Any] = {}
    budgets = dict(cfg.budgets)
    for var, raw in values.items():
        target, parse = _VARS[var]
        name = var if label == "env" else f"{var.removeprefix('FLUX_LLM_').removeprefix('FLUX_').lower()} ({label})"
        value = parse(name, raw)
        if target.startswith("budget:"):
            budgets[target.split(":")[1]] = value
        else:
            changes[target] = value
    return replace(cfg, budgets=budgets, **changes)


def _file_values(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    section = data.get("llm", data)
    if not isinstance(section, dict):
        raise ConfigError(f"config file {path}: [llm] must be a table")
    out = {}
    known = {v.removeprefix("FLUX_LLM_").removeprefix("FLUX_").lower(): v for v in _VARS}
    for key, raw in section.items():
        if key == "llm":
            continue
        if key not in known:
            raise ConfigError(f"config file {path}: unknown setting {key!r} (known: {', '.join(sorted(known))})")
        out[known[key]] = raw
    return out


def load_config(
    env: Mapping[str, str] | None = None,
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Defaults <- config file <- environment <- ``overrides`` (CLI flags, keyed by variable)."""
    env = os.environ if env is None else env
    cfg = Config()
    if config_file is not None:
        cfg = _apply(cfg, _file_values(config_file), f"in {config_file}")
    cfg = _apply(cfg, {k: v for k, v in env.items() if k in _VARS}, "env")
    if overrides:
        cfg = _apply(cfg, {k: v for k, v in overrides.items() if v is not None}, "flag")
    if cfg.cycle_min_s > cfg.cycle_max_s:
        raise ConfigError(f"FLUX_CYCLE_MIN_S={cfg.cycle_min_s:g} is above FLUX_CYCLE_MAX_S={cfg.cycle_max_s:g}: "
                          "the shortest cycle interval must not exceed the longest")
    return cfg
