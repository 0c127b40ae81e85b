"""The model side, by role:

- the generation engine, here: :mod:`.generator` (the one thread that owns MLX), :mod:`.lanes`,
  :mod:`.jobs`, :mod:`.batching`, :mod:`.sampling`, :mod:`.events`, :mod:`.base` (the service
  interface), :mod:`.scripted` (the test seam) and :mod:`.service` (which starts one);
- :mod:`.models`: where models come from (registry, hub, GGUF import);
- :mod:`.cpu`: the CPU kernels under the engine (the decode step in C, calibration).

The modules that moved into ``models/`` and ``cpu/`` still import under their earlier names
(``engine.llm.native``, ``engine.llm.hub``...), for scripts written against them: each such
name is the moved module itself (the same object, so patching either patches both), imported
only when asked for.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

MOVED = {
    "hub": "models.hub",
    "gguf_import": "models.gguf_import",
    "gguf_tensors": "models.gguf_tensors",
    "gguf_tokenizer": "models.gguf_tokenizer",
    "folders": "models.folders",
    "native": "cpu.native",
    "skinny": "cpu.skinny",
    "cpu_kernels": "cpu.cpu_kernels",
    "fastpath": "cpu.fastpath",
    "calibrate": "cpu.calibrate",
    "probe": "cpu.probe",
}


class _EarlierNames(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports ``engine.llm.<earlier name>`` as the module at its new path."""

    def find_spec(self, fullname, path=None, target=None):
        parent, _, name = fullname.rpartition(".")
        if parent != __name__ or name not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        module = importlib.import_module(f"{__name__}.{MOVED[spec.name.rpartition('.')[2]]}")
        spec.loader_state = module.__spec__
        return module

    def exec_module(self, module):
        # Already imported at its new path; the import system set __spec__ to the alias's: undo it.
        module.__spec__ = module.__spec__.loader_state


if not any(type(f).__name__ == "_EarlierNames" for f in sys.meta_path):  # once, even if reloaded
    sys.meta_path.insert(0, _EarlierNames())
