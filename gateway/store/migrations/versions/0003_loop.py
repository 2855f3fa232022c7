"""closed loop: notifications, subscriptions, task milestones, status sync

Revision ID: 0003_loop
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_loop"
down_revision = "0001"
branch_labels = None
depends_on = None


def _at(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "loop_notifications",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("referral_id", sa.String(length=36), nullable=True),
        sa.Column("task_id", sa.String(length=64), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _at("next_attempt_at", nullable=False),
        _at("lease_until"),
        sa.Column("last_error", sa.Text(), nullable=True),
        _at("created_at", nullable=False),
        _at("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("loop_notifications", schema=None) as batch_op:
        batch_op.create_index("ix_loop_notifications_due", ["status", "next_attempt_at"])
        batch_op.create_index(
            batch_op.f("ix_loop_notifications_referral_id"), ["referral_id"], unique=False
        )
    op.create_table(
        "loop_notification_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("notification_id", sa.String(length=80), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        _at("at", nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("loop_notification_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_loop_notification_attempts_notification_id"),
            ["notification_id"],
            unique=False,
        )
    op.create_table(
        "loop_disabled_webhooks",
        sa.Column("client_id", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        _at("disabled_at", nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("client_id", "url"),
    )
    op.create_table(
        "loop_subscriptions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("filters", sa.Text(), nullable=False),
        sa.Column("visible_owners", sa.Text(), nullable=False),
        sa.Column("endpoint", sa.String(length=500), nullable=False),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("content", sa.String(length=16), nullable=False),
        sa.Column("heartbeat_seconds", sa.Integer(), nullable=True),
        sa.Column("events_count", sa.Integer(), nullable=False),
        _at("last_sent_at"),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        _at("created_at", nullable=False),
        _at("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "loop_task_milestones",
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("referral_id", sa.String(length=36), nullable=False),
        sa.Column("destination", sa.String(length=100), nullable=False),
        sa.Column("client_id", sa.String(length=200), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        _at("submitted_at", nullable=False),
        _at("requested_at", nullable=False),
        _at("accepted_at"),
        _at("completed_at"),
        _at("stalled_at"),
        _at("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("task_id"),
    )
    with op.batch_alter_table("loop_task_milestones", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_loop_task_milestones_referral_id"), ["referral_id"], unique=False
        )
    op.create_table(
        "loop_sync_cursors",
        sa.Column("destination", sa.String(length=100), nullable=False),
        _at("last_polled_at"),
        sa.Column("remote_since", sa.String(length=40), nullable=True),
        sa.Column("remote_subscription_id", sa.String(length=64), nullable=True),
        sa.Column("hook_secret", sa.String(length=100), nullable=True),
        _at("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("destination"),
    )


def downgrade() -> None:
    for table in (
        "loop_sync_cursors",
        "loop_task_milestones",
        "loop_subscriptions",
        "loop_disabled_webhooks",
        "loop_notification_attempts",
        "loop_notifications",
    ):
        op.drop_table(table)
