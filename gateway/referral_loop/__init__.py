"""Closing the loop: recipients move a referral's Task along, and everyone is told.

- ``task_rules``: who may set which Task status (pure);
- ``json_patch``: the RFC 6902 operations ``PATCH /fhir/Task`` accepts (pure);
- ``task_update``: a recipient's or requester's update, checked and stored;
- ``referral_status``: a referral's overall status from its Tasks (pure);
- ``outbox``: queues app webhooks and subscription notifications (``gateway.notify``);
- ``subscriptions``: R4 Subscriptions Backport resources and notification Bundles;
- ``dispatcher``: delivers the notification outbox with retries, records every attempt;
- ``stalls``: referrals not accepted in time raise an alert;
- ``status_sync``: mirrors Task status from EHR destinations (poll or rest-hook);
- ``runner``: the background loop that drives dispatcher, heartbeats, stalls and sync.
"""
