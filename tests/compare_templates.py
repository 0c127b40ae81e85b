"""Old vs new template render path, alternately in one process (to measure a change to the renderer).

    PYTHONPATH=. python tests/compare_templates.py [GIT_REV_OF_OLD_CODE] [ROUNDS]

Loads ``engine/templates.py`` as of GIT_REV (default: the commit before the optimisation) next
to the working tree's, and times whole passes over the built-in world with each, alternately
(ROUNDS passes each, default 201); prints the best and the median pass of each.
"""

from __future__ import annotations

import gc
import subprocess
import sys
import time
import types

from engine.builtin_world import builtin_world
import engine.templates as new

rev = sys.argv[1] if len(sys.argv) > 1 else "e3bb8a5"
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 201
old = types.ModuleType("engine.templates_old")
old.__package__ = "engine"
exec(compile(subprocess.check_output(["git", "show", f"{rev}:engine/templates.py"], text=True), "templates_old.py", "exec"), old.__dict__)
places = builtin_world()
assert [old.render_template(p) for p in places] == [new.render_template(p) for p in places]


def pass_time(render) -> float:
    t0 = time.perf_counter()
    for p in places:
        render(p)
    return time.perf_counter() - t0


gc.disable()
for render in (old.render_template, new.render_template):  # warm-up (tables built)
    pass_time(render)
to, tn = [], []
for _ in range(rounds):
    to.append(pass_time(old.render_template))
    tn.append(pass_time(new.render_template))
# best pass of each (the least disturbed by the other processes on a shared machine), and medians
bo, bn = len(places) / min(to), len(places) / min(tn)
mo, mn = len(places) / sorted(to)[rounds // 2], len(places) / sorted(tn)[rounds // 2]
print(f"old ({rev}): best {bo:,.0f} renders/s, median {mo:,.0f}; new: best {bn:,.0f}, median {mn:,.0f}; "
      f"new/old {bn / bo:.2f}x best, {mn / mo:.2f}x median ({rounds} alternating passes over {len(places)} places)")
