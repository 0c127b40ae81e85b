"""Tooling beside the product: ``texture robustness`` and the tiny fault-injection model.

User commands (the world simulator `python -m tools.worldsim`, the service report) and test support, imported by nothing under ``engine/`` or ``console/`` (the
``texture`` CLI imports them lazily inside the command that needs them).
"""
