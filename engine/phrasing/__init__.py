"""Phrasing for the deterministic templates: what a weather condition, a resource and a piece of
news *are* (lexicons with a fallback guess by form), and grammatical phrasings built from that.

Everything here runs once per distinct input (the template caches the results); nothing here is
on the per-render hot path.
"""
