"""Old vs new template render path, alternately in one process (the figures quoted in the README).

    PYTHONPATH=. python tests/compare_templates.py [GIT_REV_OF_OLD_CODE] [ROUNDS]

Loads ``engine/templates.py`` as of GIT_REV (default: the commit before the optimisation) next
to the working tree's, and times whole passes over the built-in world with each, alternately.
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
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 9
old = types.ModuleType("engine.templates_old")
old.__package__ = "engine"
exec(compile(subprocess.check_output(["git", "show", f"{rev}:engine/templates.py"], text=True), "templates_old.py", "exec"), old.__dict__)
places = builtin_world()
assert [old.render_template(p) for p in places] == [new.render_template(p) for p in places]


def rate(render, seconds=0.5):
    for p in places:
        render(p)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for p in places:
            render(p)
        n += len(places)
    return n / (time.perf_counter() - t0)


gc.disable()
ro, rn = [], []
for _ in range(rounds):
    ro.append(rate(old.render_template))
    rn.append(rate(new.render_template))
mo, mn = sorted(ro)[rounds // 2], sorted(rn)[rounds // 2]
print(f"old ({rev}) median {mo:,.0f} renders/s, new median {mn:,.0f} renders/s, new/old {mn / mo:.2f}x "
      f"({rounds} alternating rounds of 0.5 s over {len(places)} places)")
