"""The pack's rules, one module per concern, each exposing its `POLICIES`.

Importing them starts nothing: only `policies/__main__.py` builds the PolicyPack, which serves.
"""
