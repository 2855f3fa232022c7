"""Closing the loop: recipients move a referral's Task along, and everyone is told.

- ``task_rules``: who may set which Task status (pure);
- ``json_patch``: the RFC 6902 operations ``PATCH /fhir/Task`` accepts (pure);
- ``task_update``: a recipient's or requester's update, checked and stored;
- ``outbox``: listens on ``gateway.notify`` and queues app webhooks and subscription
  notifications (a referral's status is ``gateway.delivery.referral_status``);
- ``subscriptions``: R4 Subscriptions Backport resources and notification Bundles;
- ``dispatcher``: delivers the notification outbox through the leased queue
  (``gateway.delivery.lease``) and ``connectors/``, with retries, every attempt recorded;
- ``stalls``: referrals not accepted in time raise an alert;
- ``status_sync``: mirrors Task status from EHR destinations (poll or rest-hook), read
  through ``connectors.ehr_tasks``;
- ``runner``: the background loop that drives dispatcher, heartbeats, stalls and sync.
"""
