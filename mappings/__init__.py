"""Triage result -> FHIR R4, pure and declarative.

- :mod:`mappings.instruments`: screening instruments as data (``instruments/*.yaml``).
- :mod:`mappings.triage_to_fhir`: ``map_triage(triage, ctx)`` -> transaction Bundle (dicts).
- :mod:`mappings.explain`: the plain-language "why" of a referral.
- :mod:`mappings.validation`: ``validate_bundle`` against the R4B models (off the request path).
- :mod:`mappings.fhir_models`: the project's one import point for FHIR model classes.

Imports nothing from ``gateway``, ``connectors`` or ``consent``.
"""
