"""Fails loudly, naming the name, when an mlx-lm upgrade drops a private piece the engine uses."""

from __future__ import annotations

import inspect

import pytest

from engine.llm import mlx_lm_compat as compat


@pytest.mark.parametrize("name", ["BatchGenerator", "GenerationBatch", "StopSequences", "TokenBuffer", "merge_caches"])
def test_every_imported_name_is_there(name):
    assert callable(getattr(compat, name)), f"mlx-lm no longer provides {name}: update engine/llm/mlx_lm_compat.py"


@pytest.mark.parametrize("cls,attr", [(c, a) for c, attrs in compat.PRIVATE_ATTRIBUTES.items() for a in attrs])
def test_private_attributes_are_still_set_by_mlx_lm(cls, attr):
    source = inspect.getsource(getattr(compat, cls))
    assert f"self.{attr}" in source, f"mlx-lm's {cls} no longer sets {attr}: engine/llm/batching.py relies on it"


@pytest.mark.parametrize("cls,meth", [(c, m) for c, ms in compat.PRIVATE_METHODS.items() for m in ms])
def test_private_methods_are_still_there(cls, meth):
    assert callable(getattr(getattr(compat, cls), meth, None)), f"mlx-lm's {cls} has no {meth} any more"


def test_batching_uses_only_the_adapter():
    import engine.llm.batching as batching

    src = inspect.getsource(batching)
    assert "from mlx_lm.generate import" not in src and "_merge_caches" not in src
