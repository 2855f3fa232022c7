"""Destination types: one registry entry per ``type:`` a destination can have.

- ``registry``: the entries (config model, connector factory, consent category, lane,
  status sync, stall policy) and the lookups bootstrap, intake, stalls and consent read;
- ``factories``: how each type's connector (and task reader, escalation sender) is
  built from its config; only the composition root imports it.

To add a type: a connector module in ``connectors/``, its config model in
``gateway/config.py``, its factory in ``factories``, one entry in ``registry``.
"""
