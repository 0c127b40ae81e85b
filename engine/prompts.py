"""Prompt templates are files.

A prompt file is plain text with ``${field}`` placeholders (``$$`` is a literal ``$``). The
default, ``texture.prompt`` (a fixed file name), is a rewrite prompt built for small models: it
gives the template's own description as the facts to keep. ``seed.prompt`` is the seed document's
"Enhance this location description with current conditions…" prompt, shipped as the alternative
the workbench and ``texture eval --compare before`` measure against. Defaults ship with the engine and are copied into a user-editable
prompts folder on first run. Every distinct text gets a version id (a content hash) that is
recorded with every result. A file with an error (syntax, unknown field, unreadable, empty,
binary) reports file, line and message; the last good version of that file stays active.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .enrich import setting_words, weather_words
from .templates import render_template, template_sentences
from .world import Place
from .errors import TextureError

DEFAULTS_DIR = Path(__file__).parent / "prompts"
DEFAULT_PROMPT = "texture"
SUFFIX = ".prompt"
MAX_PROMPT_BYTES = 64 * 1024

FIELDS = {
    "base": "the place's base description",
    "name": "the place's name",
    "urn": "the place's urn",
    "region": "the region part of the urn",
    "weather": "summarizeWeather: '12°C, light rain, 8mph winds'",
    "resources": "summarizeResources: 'abundant: timber, scarce: fresh water'",
    "events": "summarizeEvents: the events, most significant first",
    "temperature": "temperature in °C",
    "conditions": "weather conditions",
    "wind_speed": "wind speed in mph",
    "tier": "the enhancement tier (light, full, premium)",
    "template": "the place's template description (engine.templates): the facts, already in words",
    "sentence": "one sentence of the template: a prompt that uses it is sent once per sentence, and the "
                "text is the template with each well-rewritten sentence in its place (engine.compose)",
    "weather_words": "the weather in plain words, no numbers: 'thunderstorms, warm, a gale'",
    "setting": "the opening sentence of the base description (what the place is and is made of)",
}

# Generation modes (a prompt file chooses one with a first line such as ``#mode: enrich``):
# sentence - the template rewritten one sentence at a time (the prompt uses ${sentence});
# rewrite  - the whole text written by the model from the prompt (e.g. ${template});
# enrich   - the template as it is plus one short sentence the model adds (engine.enrich).
MODES = ("sentence", "rewrite", "enrich")
# Directive lines at the top of a prompt file: ``#mode: enrich``, ``#temperature: 0.3``,
# ``#candidates: 4`` (best of N: seeded candidates, the gate keeps the best accepted one).
_DIRECTIVE = re.compile(r"^#\s*([a-z_]+)\s*:\s*(\S*)\s*$")
DIRECTIVES = {"mode": "sentence, rewrite or enrich", "temperature": "a number from 0 to 2",
              "candidates": "a whole number from 1 to 8"}

_TOKEN = re.compile(r"\$(?:\$|\{([^}\n]*)\}|\{|)")
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
# Control characters other than tab, newline and carriage return: binary data, not a prompt.
_BINARY = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")


class PromptError(TextureError):
    def __init__(self, file: str, line: int, message: str):
        super().__init__(f"{file}:{line}: {message}")
        self.file, self.line, self.message = file, line, message


def version_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def js_number(x: float) -> str:
    """A number as JavaScript's template literal writes it (12.0 -> '12')."""
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return repr(x) if isinstance(x, float) else str(x)


def summarize_weather(p: Place) -> str:
    return f"{js_number(p.temperature)}°C, {p.conditions}, {js_number(p.wind_speed)}mph winds"


def summarize_resources(p: Place) -> str:
    abundant = [r.type for r in p.resources if r.abundance > 0.7]
    scarce = [r.type for r in p.resources if r.abundance < 0.3]
    return f"abundant: {', '.join(abundant) or 'none'}, scarce: {', '.join(scarce) or 'none'}"


def summarize_events(p: Place) -> str:
    if not p.events:
        return "none"
    events = sorted(p.events, key=lambda e: -e.significance)
    return "; ".join(f"{e.summary.strip().rstrip('.')} ({e.term}-term {e.type})" for e in events[:5])


def place_fields(p: Place, tier: str = "") -> dict[str, str]:
    return {
        "base": p.base.strip(),
        "name": p.name,
        "urn": p.urn,
        "region": p.region,
        "weather": summarize_weather(p),
        "resources": summarize_resources(p),
        "events": summarize_events(p),
        "temperature": js_number(p.temperature),
        "conditions": p.conditions,
        "wind_speed": js_number(p.wind_speed),
        "tier": tier,
        "template": render_template(p),
        "sentence": render_template(p),  # a per-sentence prompt's preview: see Prompt.render_sentences
        "weather_words": weather_words(p),
        "setting": setting_words(p),
    }


@dataclass(frozen=True)
class Prompt:
    """A compiled prompt: literal chunks and field names, alternating."""

    name: str
    text: str
    version: str
    parts: tuple  # str literal or ("field",)
    fields: frozenset
    directives: tuple = ()  # (("mode", "enrich"), ...) from the file's first lines

    def directive(self, key: str, default=None):
        return dict(self.directives).get(key, default)

    @property
    def mode(self) -> str:
        """The generation mode (:data:`MODES`): the file's ``#mode:`` line, else ``sentence`` for a
        prompt that uses ``${sentence}`` and ``rewrite`` for any other."""
        return self.directive("mode") or ("sentence" if "sentence" in self.fields else "rewrite")

    @property
    def temperature(self) -> float | None:
        t = self.directive("temperature")
        return float(t) if t is not None else None

    @property
    def candidates(self) -> int | None:
        n = self.directive("candidates")
        return int(n) if n is not None else None

    @property
    def per_sentence(self) -> bool:
        """Whether this prompt rewrites the template one sentence at a time (it uses ``${sentence}``)."""
        return "sentence" in self.fields

    @property
    def head(self) -> str:
        """The text every rendering of this prompt starts with: the literal text before the first
        field, up to and including its last line break (the instructions and worked example of the
        default prompt). The engine prefills it once and reuses its cache for every request."""
        first = self.parts[0] if self.parts and isinstance(self.parts[0], str) else ""
        first = first.lstrip()
        cut = first.rfind("\n")
        return first[:cut + 1] if cut >= 0 else ""

    def render(self, place: Place, tier: str = "", sentence: str | None = None) -> str:
        values = place_fields(place, tier)
        if sentence is not None:
            values["sentence"] = sentence
        return "".join(values[p[0]] if isinstance(p, tuple) else p for p in self.parts).strip()

    def render_sentences(self, place: Place, tier: str = "") -> list[tuple[str, str]]:
        """(template sentence, prompt text) for each sentence of the place's template."""
        values = place_fields(place, tier)
        out = []
        for s in template_sentences(place):
            values["sentence"] = s
            out.append((s, "".join(values[p[0]] if isinstance(p, tuple) else p for p in self.parts).strip()))
        return out


def compile_prompt(text: str, file: str = "<prompt>", name: str = DEFAULT_PROMPT) -> Prompt:
    """Parse ``text``; raises :class:`PromptError` with the file and line of the first problem."""
    if "\x00" in text:
        raise PromptError(file, 1, "binary data (NUL bytes) in a prompt file")
    m = _BINARY.search(text)
    if m:
        line = text.count("\n", 0, m.start()) + 1
        raise PromptError(file, line, f"binary data (control character U+{ord(m.group(0)):04X}) in a prompt file")
    if not text.strip():
        raise PromptError(file, 1, "the prompt file is empty")
    directives, body_at = _directives(text, file)
    if not text[body_at:].strip():
        raise PromptError(file, 1, "the prompt file has directives but no prompt")
    parts: list = []
    pos = body_at
    for m in _TOKEN.finditer(text, body_at):
        line = text.count("\n", 0, m.start()) + 1
        if m.start() > pos:
            parts.append(text[pos : m.start()])
        tok = m.group(0)
        if tok == "$$":
            parts.append("$")
        elif tok.startswith("${") and tok.endswith("}"):
            field = m.group(1).strip()
            if not _NAME.match(field):
                raise PromptError(file, line, f"bad placeholder {tok!r}: use ${{field}} with one of {', '.join(FIELDS)}")
            if field not in FIELDS:
                raise PromptError(file, line, f"unknown field {field!r} (known: {', '.join(FIELDS)})")
            parts.append((field,))
        elif tok == "${":
            raise PromptError(file, line, "unclosed placeholder '${' (missing '}' on this line)")
        else:
            raise PromptError(file, line, "stray '$': write $$ for a dollar sign or ${field} for a field")
        pos = m.end()
    parts.append(text[pos:])
    fields = frozenset(p[0] for p in parts if isinstance(p, tuple))
    merged: list = []
    for p in parts:
        if isinstance(p, str) and merged and isinstance(merged[-1], str):
            merged[-1] += p
        elif p != "":
            merged.append(p)
    mode = dict(directives).get("mode")
    if mode == "sentence" and "sentence" not in fields:
        raise PromptError(file, 1, "#mode: sentence needs a ${sentence} field in the prompt")
    if mode in ("rewrite", "enrich") and "sentence" in fields:
        raise PromptError(file, 1, f"#mode: {mode} is sent once per place: it cannot use ${{sentence}}")
    return Prompt(name, text, version_of(text), tuple(merged), fields, directives)


def _directives(text: str, file: str) -> tuple[tuple, int]:
    """The ``#key: value`` lines at the top of a prompt file, and where its prompt starts."""
    out: dict[str, str] = {}
    pos, line = 0, 0
    while pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end + 1
        raw = text[pos:end].strip()
        if not raw.startswith("#"):
            break
        line += 1
        m = _DIRECTIVE.match(raw)
        if not m or m.group(1) not in DIRECTIVES:
            key = m.group(1) if m else raw[:30]
            raise PromptError(file, line, f"unknown directive {key!r} (known: "
                              + ", ".join(f"#{k}: {v}" for k, v in DIRECTIVES.items()) + ")")
        key, value = m.group(1), m.group(2).lower()
        ok = True
        if key == "mode":
            ok = value in MODES
        elif key == "temperature":
            try:
                ok = 0.0 <= float(value) <= 2.0
            except ValueError:
                ok = False
        elif key == "candidates":
            ok = value.isdigit() and 1 <= int(value) <= 8
        if not ok:
            raise PromptError(file, line, f"#{key}: {value!r} is not valid: use {DIRECTIVES[key]}")
        out[key] = value
        pos = end
    return tuple(sorted(out.items())), pos


def read_prompt_file(path: Path) -> Prompt:
    file = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_PROMPT_BYTES:
            raise PromptError(file, 1, f"file too large ({size:,} bytes, max {MAX_PROMPT_BYTES:,})")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PromptError(file, 0, "file not found (deleted or renamed)") from None
    except IsADirectoryError:
        raise PromptError(file, 0, "is a folder, not a prompt file") from None
    except OSError as exc:
        raise PromptError(file, 0, f"cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise PromptError(file, line, "not UTF-8 text (binary data?)") from None
    return compile_prompt(text, file, path.stem)


# Versions earlier releases shipped as a default prompt: a user file still at one of them was
# never edited, so it follows the shipped default when that changes (an edited file never does).
PAST_DEFAULTS = {"texture": frozenset({"4b6f91c251cd", "d19ea6c6caec", "fe68fe21edf7"})}


def ensure_prompts_dir(path: Path) -> Path:
    """Create the user prompts folder and copy in any missing default prompt files (and update a
    default the user never edited: see :data:`PAST_DEFAULTS`)."""
    path.mkdir(parents=True, exist_ok=True)
    for src in DEFAULTS_DIR.glob("*" + SUFFIX):
        dst = path / src.name
        if not dst.exists():
            shutil.copyfile(src, dst)
        elif src.stem in PAST_DEFAULTS:
            try:
                if version_of(dst.read_text(encoding="utf-8")) in PAST_DEFAULTS[src.stem]:
                    shutil.copyfile(src, dst)
            except (OSError, UnicodeDecodeError):
                pass  # an unreadable file is reported when it is loaded, never overwritten here
    return path


@dataclass
class PromptStatus:
    name: str
    path: Path
    active: Prompt | None  # the last good version (stays active while the file has an error)
    error: PromptError | None
    loaded_at: float  # time of the last reload attempt


class PromptLibrary:
    """The prompts folder: last good version of each file, errors, reload on change.

    Thread-safe: the console's watcher reloads while a batch renders prompts elsewhere.
    """

    def __init__(self, folder: Path, *, install_defaults: bool = True):
        self.folder = ensure_prompts_dir(folder) if install_defaults else folder
        self._lock = threading.Lock()
        self._status: dict[str, PromptStatus] = {}
        self.reload_all()

    def reload_all(self) -> list[PromptStatus]:
        names = {p.stem for p in self.folder.glob("*" + SUFFIX)} | set(self._status)
        return [self.reload(self.folder / f"{n}{SUFFIX}") for n in sorted(names)]

    def reload(self, path: Path) -> PromptStatus:
        path = Path(path)
        name = path.stem
        try:
            prompt, error = read_prompt_file(path), None
        except PromptError as exc:
            prompt, error = None, exc
        with self._lock:
            old = self._status.get(name)
            active = prompt or (old.active if old else None)
            st = PromptStatus(name, path, active, error, time.time())
            self._status[name] = st
            return st

    def status(self) -> list[PromptStatus]:
        with self._lock:  # the default prompt first (what the console selects and edits), then by name
            return sorted(self._status.values(), key=lambda s: (s.name != DEFAULT_PROMPT, s.name))

    def get(self, name: str = DEFAULT_PROMPT) -> Prompt | None:
        with self._lock:
            st = self._status.get(name)
            return st.active if st else None

    def status_of(self, name: str = DEFAULT_PROMPT) -> PromptStatus | None:
        with self._lock:
            return self._status.get(name)


def default_prompt() -> Prompt:
    return read_prompt_file(DEFAULTS_DIR / f"{DEFAULT_PROMPT}{SUFFIX}")
