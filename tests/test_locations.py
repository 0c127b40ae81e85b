"""Every folder comes from engine/locations.py; the themes ship inside the package."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import locations


def test_flux_models_dir_overrides_everything(monkeypatch, tmp_path):
    monkeypatch.setenv("FLUX_MODELS_DIR", str(tmp_path / "m"))
    assert locations.models_dir() == tmp_path / "m"
    from engine.llm import models

    assert models.models_dir() == tmp_path / "m"  # the registry asks locations


def test_a_checkout_keeps_its_models_folder(monkeypatch, tmp_path):
    # This test runs from a checkout: models/ beside engine/, as models/README.md says,
    # whatever TEXTURE_HOME is (the suite sets it to a temporary folder).
    root = Path(locations.__file__).resolve().parent.parent
    assert locations.source_checkout() == root
    assert locations.models_dir() == root / "models"


def test_an_installed_package_keeps_models_in_the_data_folder(monkeypatch, tmp_path):
    monkeypatch.setattr(locations, "source_checkout", lambda: None)
    monkeypatch.setenv("TEXTURE_HOME", str(tmp_path / "home"))
    assert locations.models_dir() == tmp_path / "home" / "models"  # TEXTURE_HOME moves the models too
    monkeypatch.delenv("TEXTURE_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    if locations.sys.platform != "darwin":
        assert locations.models_dir() == tmp_path / "xdg" / "world-texture" / "models"
    assert "site-packages" not in str(locations.models_dir())


def test_preparing_the_models_folder_puts_the_readme_there_and_keeps_one_that_exists(monkeypatch, tmp_path):
    monkeypatch.setattr(locations, "source_checkout", lambda: None)
    monkeypatch.setenv("TEXTURE_HOME", str(tmp_path / "home"))
    root = locations.prepare_models_dir()
    assert root == tmp_path / "home" / "models" and root.is_dir()
    shipped = locations.MODELS_README.read_text(encoding="utf-8")
    assert (root / "README.md").read_text(encoding="utf-8") == shipped
    # the checkout's models/README.md is that same file (a link to engine/MODELS.md)
    checkout = Path(locations.__file__).resolve().parent.parent
    assert (checkout / "models" / "README.md").read_text(encoding="utf-8") == shipped
    (root / "README.md").write_text("my notes\n", encoding="utf-8")
    locations.prepare_models_dir()
    assert (root / "README.md").read_text(encoding="utf-8") == "my notes\n"


def test_source_checkout_needs_this_projects_pyproject(monkeypatch, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "something-else"\n', encoding="utf-8")
    monkeypatch.setattr(locations, "repo_root", lambda: tmp_path)
    locations.source_checkout.cache_clear()
    try:
        assert locations.source_checkout() is None
        (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "{locations.PROJECT_NAME}"\n', encoding="utf-8")
        locations.source_checkout.cache_clear()
        assert locations.source_checkout() == tmp_path
    finally:
        locations.source_checkout.cache_clear()


def test_themes_come_from_the_package_and_the_users_folder(texture_home):
    pytest.importorskip("textual")
    from console import themes

    assert (themes.BUILTIN_THEME_FILES / "texture-dark.tcss").is_file()  # package data: the top-level themes/
    import themes as theme_package

    assert themes.BUILTIN_THEME_FILES == Path(theme_package.__file__).resolve().parent
    assert themes.theme_folders() == [themes.BUILTIN_THEME_FILES, texture_home / "themes"]
    user = texture_home / "themes"
    user.mkdir(parents=True)
    (user / "mine.tcss").write_text("$primary: #123456;\n$dark: true;\n", encoding="utf-8")
    (user / "broken.tcss").write_text("not a theme\n", encoding="utf-8")
    found, errors = themes.load_themes()
    names = [t.name for t in found]
    assert {"texture-dark", "texture-light", "mine"} <= set(names)
    assert len(errors) == 1 and "broken.tcss" in errors[0]


def test_the_kernel_cache_has_the_data_folders_app_name_and_one_override(monkeypatch, tmp_path):
    from engine.llm.cpu import skinny

    monkeypatch.delenv("TEXTURE_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    monkeypatch.delenv("TEXTURE_HOME", raising=False)
    assert locations.data_dir().name == locations.cache_dir().name == locations.APP_NAME
    assert skinny.cache_dir() == tmp_path / "xdg" / locations.APP_NAME / "kernels"
    monkeypatch.setenv("TEXTURE_CACHE", str(tmp_path / "c"))
    assert skinny.cache_dir() == locations.kernels_dir() == tmp_path / "c" / "kernels"


def test_the_fast_path_switches_are_read_in_one_place(monkeypatch):
    from engine import settings
    from engine.llm.cpu import cpu_kernels

    monkeypatch.setenv("FLUX_LLM_DTYPE", " Float32 ")
    monkeypatch.delenv("FLUX_DECODE_WEIGHTS", raising=False)
    assert settings.llm_dtype() == "float32" and cpu_kernels.decode_weights_wanted() == "f32"
    monkeypatch.setenv("FLUX_DECODE_WEIGHTS", "q8")
    assert cpu_kernels.decode_weights_wanted() == "q8"
    monkeypatch.setenv("FLUX_SKINNY", "off")
    assert settings.skinny_off()
    monkeypatch.setenv("FLUX_OPENBLAS", "None")
    assert settings.openblas_off(settings.openblas())
