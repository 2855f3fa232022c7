"""The crisis path: a person acknowledges, the gateway escalates until one does.

- ``acknowledge``: ``POST /referrals/{id}/acknowledge`` (who may, what is kept);
- ``policy``: when the next escalation step is due and whom it goes to (pure);
- ``watcher``: the loop that finds unacknowledged crisis deliveries and escalates;
- ``ports`` / ``notifier``: the escalation port and its Standard Webhooks adapter;
- ``disclosures``: emergency disclosures surfaced for an operator's review;
- ``view``: the acknowledgement and escalation sections of ``GET /referrals/{id}``.

See docs/crisis.md.
"""
