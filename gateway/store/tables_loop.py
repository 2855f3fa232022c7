"""Tables of the closed loop: notification outbox and delivery records, subscriptions,
per-Task milestones (acceptance, completion, stall) and status-sync cursors.

Migration: ``gateway/store/migrations/versions/0003_loop.py``.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, LargeBinary, String, Table, Text

from gateway.store.tables import UtcDateTime, metadata

notifications = Table(
    "loop_notifications",
    metadata,
    Column("id", String(80), primary_key=True),
    # The Standard Webhooks ``webhook-id``: the same on every retry.
    Column("channel", String(16), nullable=False),
    # app-webhook | subscription
    Column("target", String(200), nullable=False),
    # the client id (app-webhook) or the Subscription id (subscription)
    Column("kind", String(32), nullable=False),
    # referral.status_changed | referral.stalled | handshake | heartbeat | event-notification
    Column("referral_id", String(36), index=True),
    Column("task_id", String(64)),
    Column("payload", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False),
    # a DeliveryStatus (gateway.delivery.status), moved only as it allows
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("lease_until", UtcDateTime()),
    Column("last_error", Text),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_loop_notifications_due", "status", "next_attempt_at"),
)

notification_attempts = Table(
    "loop_notification_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("notification_id", String(80), nullable=False, index=True),
    Column("attempt", Integer, nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("outcome", String(16), nullable=False),
    # an AttemptOutcome (gateway.delivery.status)
    Column("status_code", Integer),
    Column("detail", Text),
)

disabled_webhooks = Table(
    "loop_disabled_webhooks",
    metadata,
    Column("client_id", String(200), primary_key=True),
    Column("url", String(500), primary_key=True),
    Column("disabled_at", UtcDateTime(), nullable=False),
    Column("reason", Text, nullable=False),
)

subscriptions = Table(
    "loop_subscriptions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("client_id", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    # requested | active | error | off
    Column("filters", Text, nullable=False),
    # JSON list of filter criteria strings (``Task?owner=...``)
    Column("visible_owners", Text, nullable=False),
    # JSON list of owner references the subscriber acts for; ["*"] for an operator
    Column("endpoint", String(500), nullable=False),
    Column("headers", Text, nullable=False),
    # JSON list of ``Name: value`` strings (channel.header)
    Column("content", String(16), nullable=False),
    # empty | id-only | full-resource
    Column("heartbeat_seconds", Integer),
    Column("events_count", Integer, nullable=False, default=0),
    Column("last_sent_at", UtcDateTime()),
    Column("error", Text),
    Column("body", LargeBinary, nullable=False),
    # the Subscription resource as accepted (status and meta are filled in on read)
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

task_milestones = Table(
    "loop_task_milestones",
    metadata,
    Column("task_id", String(64), primary_key=True),
    Column("referral_id", String(36), nullable=False, index=True),
    Column("destination", String(100), nullable=False),
    Column("client_id", String(200), nullable=False),
    Column("urgency", String(16), nullable=False),
    Column("status", String(32), nullable=False),
    Column("submitted_at", UtcDateTime(), nullable=False),
    Column("requested_at", UtcDateTime(), nullable=False),
    # when the recipient could first see it (delivered)
    Column("accepted_at", UtcDateTime()),
    Column("completed_at", UtcDateTime()),
    Column("stalled_at", UtcDateTime()),
    Column("updated_at", UtcDateTime(), nullable=False),
)

sync_cursors = Table(
    "loop_sync_cursors",
    metadata,
    Column("destination", String(100), primary_key=True),
    Column("last_polled_at", UtcDateTime()),
    Column("remote_since", String(40)),
    # the highest remote meta.lastUpdated seen, sent back as ``_lastUpdated=gt``
    Column("remote_subscription_id", String(64)),
    Column("hook_secret", String(100)),
    Column("updated_at", UtcDateTime(), nullable=False),
)
