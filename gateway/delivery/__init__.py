"""The delivery room: everything between a queued delivery and its outcome.

- ``status``: ``DeliveryStatus`` and the moves it allows (deliveries and notifications);
- ``lease``: the one leased queue (claim with lease, settle, attempt log);
- ``worker``: the claim loops (crisis lane first, and its own loop) and one delivery;
- ``claim``: what a worker holds while it delivers;
- ``consent_recheck``: consent decided again just before sending;
- ``outcomes``: delivered, retried, dead-lettered, withheld, cancelled, on one transaction;
- ``publish``: the one ``publish_task`` (worker and inbox) and ``set_task_status``;
- ``retry``, ``circuit``: backoff and the per-destination circuit breaker;
- ``dead_letters``: the operator's list and replay;
- ``inbox``: the built-in inbox's store side.

docs/delivery.md tells the whole story.
"""
