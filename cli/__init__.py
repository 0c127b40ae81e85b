"""The ``texture`` command, on top of ``engine/`` and ``console/`` (neither imports it).

cli/main.py parses the arguments and runs a subcommand; cli/common.py holds what every subcommand
shares (options, config, world, store, the model service); cli/workbench.py is ``texture
prompts``, cli/serve.py ``texture serve``, cli/console.py the lazily imported console.
"""
