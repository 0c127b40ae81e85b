"""The built-in console themes (``*.tcss``, Textual theme variables only): package data, read by
:mod:`console.themes` through ``importlib.resources``, so a wheel install carries them."""
