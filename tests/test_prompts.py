"""Prompt files: rendering, errors with file and line, versions (content hash), the library's
last-good-version rule, and the defaults copied on first run."""

from __future__ import annotations

import hashlib

import pytest

from engine.prompts import (
    DEFAULT_PROMPT,
    DEFAULTS_DIR,
    FIELDS,
    MAX_PROMPT_BYTES,
    PAST_DEFAULTS,
    SUFFIX,
    PromptError,
    PromptLibrary,
    compile_prompt,
    default_prompt,
    ensure_prompts_dir,
    js_number,
    read_prompt_file,
    summarize_events,
    summarize_resources,
    summarize_weather,
    version_of,
)
from engine.templates import render_template, template_sentences
from engine.world import Event, Resource, make_place

PLACE = make_place(
    "urn:flux:place:greywood:old-mill", "Old Mill", "  A mill of grey stone sits beside a slow river.  ",
    12.0, "light rain", 8.5,
    [Resource("timber", 0.9), Resource("fresh water", 0.1), Resource("clay", 0.7), Resource("peat", 0.3)],
    [Event("fire", 0.4, "short", "A small fire broke out."), Event("flood", 0.9, "long", "The river burst its banks.")],
)


def _write(path, text: str | bytes):
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# --- rendering --------------------------------------------------------------------------------

def test_seed_prompt_is_the_seed_documents_prompt():
    p = read_prompt_file(DEFAULTS_DIR / "seed.prompt")
    assert {"base", "weather", "resources", "events"} <= p.fields
    out = p.render(PLACE, "premium")
    assert out.startswith("Enhance this location description with current conditions:")
    assert "Base: A mill of grey stone sits beside a slow river.\n" in out
    assert "- Weather: 12°C, light rain, 8.5mph winds" in out
    assert "- Resources: abundant: timber, scarce: fresh water" in out
    assert out.rstrip().endswith("Enhanced description:")
    assert "${" not in out


def test_default_prompt_rewrites_the_template_sentence_by_sentence():
    p = default_prompt()
    assert p.name == DEFAULT_PROMPT
    assert p.per_sentence and "sentence" in p.fields
    parts = p.render_sentences(PLACE, "premium")
    assert [s for s, _ in parts] == list(template_sentences(PLACE))
    assert " ".join(s for s, _ in parts) == render_template(PLACE)
    for s, text in parts:
        assert text.rstrip().endswith(f"Sentence: {s}\nRewrite:") and "${" not in text
    # The preview of a per-sentence prompt shows it for the whole template.
    assert render_template(PLACE) in p.render(PLACE, "premium")


def test_whole_text_rewrite_prompt_ships_as_an_alternative():
    p = read_prompt_file(DEFAULTS_DIR / "rewrite.prompt")
    assert "template" in p.fields and not p.per_sentence
    out = p.render(PLACE, "premium")
    assert render_template(PLACE) in out and "${" not in out


def test_an_unedited_past_default_follows_the_shipped_one_and_an_edited_one_never_does(tmp_path):
    folder = tmp_path / "prompts"
    folder.mkdir()
    old = (DEFAULTS_DIR / "rewrite.prompt").read_text(encoding="utf-8")  # last release's texture.prompt
    assert version_of(old) in PAST_DEFAULTS["texture"]
    (folder / "texture.prompt").write_text(old, encoding="utf-8")
    ensure_prompts_dir(folder)
    assert (folder / "texture.prompt").read_text(encoding="utf-8") == (DEFAULTS_DIR / "texture.prompt").read_text(encoding="utf-8")
    (folder / "texture.prompt").write_text(old + "\nMy own line.\n", encoding="utf-8")
    ensure_prompts_dir(folder)
    assert (folder / "texture.prompt").read_text(encoding="utf-8").endswith("My own line.\n")


def test_default_prompt_is_listed_first(tmp_path):
    lib = PromptLibrary(tmp_path / "prompts")
    (lib.folder / "aaa.prompt").write_text("Describe ${name}.", encoding="utf-8")
    lib.reload_all()
    names = [s.name for s in lib.status()]
    assert names[0] == DEFAULT_PROMPT and {"seed", "aaa"} <= set(names)


def test_summaries_follow_the_seed_document():
    assert js_number(12.0) == "12" and js_number(-3.5) == "-3.5" and js_number(7) == "7" and js_number(-0.0) == "0"
    assert summarize_weather(PLACE) == "12°C, light rain, 8.5mph winds"
    # > 0.7 abundant, < 0.3 scarce; exactly 0.7 / 0.3 are neither.
    assert summarize_resources(PLACE) == "abundant: timber, scarce: fresh water"
    empty = make_place("urn:flux:place:a:b", "N", "B.", 1, "c", 1, [], [])
    assert summarize_resources(empty) == "abundant: none, scarce: none"
    assert summarize_events(empty) == "none"
    ev = summarize_events(PLACE)
    assert ev.index("river burst its banks") < ev.index("small fire")  # most significant first
    assert "(long-term flood)" in ev


def test_every_field_renders_and_dollar_escape():
    text = "\n".join(f"{f}=${{{f}}}" for f in FIELDS) + "\nprice: $$5"
    p = compile_prompt(text)
    assert p.fields == frozenset(FIELDS)
    out = p.render(PLACE, "full")
    assert "urn=urn:flux:place:greywood:old-mill" in out
    assert "region=greywood" in out and "tier=full" in out and "temperature=12" in out and "wind_speed=8.5" in out
    assert out.endswith("price: $5")


def test_placeholder_whitespace_is_tolerated():
    assert compile_prompt("Base: ${ base }").render(PLACE) == "Base: A mill of grey stone sits beside a slow river."


# --- errors: file and line --------------------------------------------------------------------

@pytest.mark.parametrize("text, line, words", [
    ("Line one\nline two\nBase: ${base\n", 3, ["unclosed"]),
    ("ok\n\n\n\nWeather: ${wether}\n", 5, ["unknown field", "wether"]),
    ("ok\nIt costs $5\n", 2, ["stray"]),
    ("a $ b", 1, ["stray"]),
    ("end with $", 1, ["stray"]),
    ("x\n${}\n", 2, ["bad placeholder"]),
    ("x\ny\n${Base}", 3, ["bad placeholder"]),
    ("${base-name}", 1, ["bad placeholder"]),
    ("", 1, ["empty"]),
    ("   \n\t\n", 1, ["empty"]),
    ("text\x00more", 1, ["binary"]),
])
def test_prompt_errors_name_file_and_line(tmp_path, text, line, words):
    path = _write(tmp_path / f"bad{SUFFIX}", text)
    with pytest.raises(PromptError) as ei:
        read_prompt_file(path)
    e = ei.value
    assert e.file == str(path) and e.line == line
    for w in words:
        assert w in e.message
    assert str(e).startswith(f"{path}:{line}: ")


def test_binary_file_that_is_not_utf8(tmp_path):
    path = _write(tmp_path / f"bin{SUFFIX}", b"first line\nsecond \xff\xfe\xfd line\n")
    with pytest.raises(PromptError) as ei:
        read_prompt_file(path)
    assert ei.value.line == 2 and "UTF-8" in ei.value.message


def test_deleted_file(tmp_path):
    with pytest.raises(PromptError) as ei:
        read_prompt_file(tmp_path / f"gone{SUFFIX}")
    assert ei.value.file == str(tmp_path / f"gone{SUFFIX}") and "not found" in ei.value.message


def test_folder_instead_of_file(tmp_path):
    (tmp_path / f"dir{SUFFIX}").mkdir()
    with pytest.raises(PromptError, match="folder"):
        read_prompt_file(tmp_path / f"dir{SUFFIX}")


def test_too_large_file(tmp_path):
    path = _write(tmp_path / f"big{SUFFIX}", "x" * (MAX_PROMPT_BYTES + 1))
    with pytest.raises(PromptError, match="too large"):
        read_prompt_file(path)


# --- versions ---------------------------------------------------------------------------------

def test_version_is_the_content_hash():
    text = "Describe ${name}.\n"
    p = compile_prompt(text)
    assert p.version == version_of(text) == hashlib.sha256(text.encode()).hexdigest()[:12]
    assert compile_prompt(text).version == p.version
    assert compile_prompt(text + " ").version != p.version
    assert compile_prompt("Describe ${name}!\n").version != p.version


# --- the library ------------------------------------------------------------------------------

def test_defaults_are_copied_on_first_run_and_never_overwritten(tmp_path):
    folder = tmp_path / "prompts"
    lib = PromptLibrary(folder)
    user_file = folder / f"{DEFAULT_PROMPT}{SUFFIX}"
    default_text = (DEFAULTS_DIR / f"{DEFAULT_PROMPT}{SUFFIX}").read_text(encoding="utf-8")
    assert user_file.read_text(encoding="utf-8") == default_text
    assert lib.get().version == version_of(default_text)

    user_file.write_text("My own prompt for ${name}.", encoding="utf-8")
    ensure_prompts_dir(folder)
    lib2 = PromptLibrary(folder)
    assert user_file.read_text(encoding="utf-8") == "My own prompt for ${name}."
    assert lib2.get().text == "My own prompt for ${name}."

    user_file.unlink()  # a deleted default comes back on the next start
    PromptLibrary(folder)
    assert user_file.read_text(encoding="utf-8") == default_text


def test_last_good_version_stays_active_after_a_bad_reload(tmp_path):
    lib = PromptLibrary(tmp_path)
    path = tmp_path / f"{DEFAULT_PROMPT}{SUFFIX}"
    _write(path, "Good version one for ${name}.")
    st = lib.reload(path)
    v1 = st.active.version
    assert st.error is None and lib.get().text == "Good version one for ${name}."

    for bad, line in (("fine\nbroken ${nope}\n", 2), ("", 1), (b"\x00\x01\x02", 1), ("a\nb\nc $ d", 3)):
        _write(path, bad)
        st = lib.reload(path)
        assert st.error is not None and st.error.line == line and st.error.file == str(path)
        assert st.active.version == v1
        assert lib.get().version == v1
        assert lib.status_of().error is st.error

    path.unlink()
    st = lib.reload(path)
    assert "not found" in st.error.message and lib.get().version == v1

    _write(path, "Good version two for ${name}.")
    st = lib.reload(path)
    assert st.error is None and st.active.version != v1 and lib.get().text == "Good version two for ${name}."


def test_a_file_that_was_never_good_has_no_active_version(tmp_path):
    lib = PromptLibrary(tmp_path, install_defaults=False)
    assert lib.get() is None and lib.status() == []
    path = _write(tmp_path / f"other{SUFFIX}", "bad ${x}")
    st = lib.reload(path)
    assert st.active is None and st.error.line == 1
    assert lib.get("other") is None


def test_reload_all_finds_new_files_and_remembers_deleted_ones(tmp_path):
    lib = PromptLibrary(tmp_path)
    names = {s.name for s in lib.status()}
    assert DEFAULT_PROMPT in names
    _write(tmp_path / f"short{SUFFIX}", "Two words about ${name}.")
    assert "short" in {s.name for s in lib.reload_all()}
    (tmp_path / f"short{SUFFIX}").unlink()
    st = {s.name: s for s in lib.reload_all()}["short"]
    assert st.error is not None and st.active.text == "Two words about ${name}."
