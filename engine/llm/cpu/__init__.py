"""The CPU path under the generation engine: the decode step in C (:mod:`.native`, ``decode.c``),
the skinny decode products (:mod:`.skinny`, ``skinny.c``; both compiled at first use), the
row-by-row attention and base-2 kernels swapped into mlx-lm's model (:mod:`.cpu_kernels`), the
backend choice before MLX loads (:mod:`.fastpath`), the measured thread split (:mod:`.calibrate`)
and the load-time speed probe (:mod:`.probe`). Nothing here imports the rest of ``engine.llm``.
"""
