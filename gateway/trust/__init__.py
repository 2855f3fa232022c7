"""Trust you can see: model cards, clinicians' reviews, drift alerts, the transparency report.

CONTRACT.md v1.1 "Models, clinicians' reviews and the transparency report";
docs/monitoring.md says what each figure means and what it cannot say.

- :mod:`gateway.trust.config`: ``models:`` (ONC HTI-1 source attributes) and ``drift:``;
- :mod:`gateway.trust.cards`: the model card a clinician sees beside the AI's output;
- :mod:`gateway.trust.reviews`: ``record_review``, a clinician's own risk level;
- :mod:`gateway.trust.figures`: the report's figures, pure (facts in, figures out);
- :mod:`gateway.trust.facts`: the facts, read from the database;
- :mod:`gateway.trust.drift`: drift alerts (metric, log event, webhook, console banner);
- :mod:`gateway.trust.html`: the report as one self-contained HTML page.
"""
