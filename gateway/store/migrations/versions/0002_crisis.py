"""crisis path: acknowledgements, escalations, emergency-disclosure reviews

Revision ID: 0002_crisis
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_crisis"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crisis_acknowledgements",
        sa.Column("delivery_id", sa.String(length=36), nullable=False),
        sa.Column("referral_id", sa.String(length=36), nullable=False),
        sa.Column("destination", sa.String(length=100), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=200), nullable=False),
        sa.Column("client_id", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("delivery_id"),
    )
    with op.batch_alter_table("crisis_acknowledgements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_crisis_acknowledgements_referral_id"), ["referral_id"], unique=False
        )
    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("referral_id", sa.String(length=36), nullable=False),
        sa.Column("delivery_id", sa.String(length=36), nullable=False),
        sa.Column("destination", sa.String(length=100), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("delivery_id", "step", name="uq_escalations_delivery_step"),
    )
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.create_index("ix_escalations_delivery", ["delivery_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_escalations_referral_id"), ["referral_id"], unique=False
        )
    op.create_table(
        "emergency_disclosure_reviews",
        sa.Column("audit_seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("reviewed_by", sa.String(length=200), nullable=False),
        sa.Column("client_id", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("audit_seq"),
    )


def downgrade() -> None:
    op.drop_table("emergency_disclosure_reviews")
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalations_referral_id"))
        batch_op.drop_index("ix_escalations_delivery")
    op.drop_table("escalations")
    with op.batch_alter_table("crisis_acknowledgements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crisis_acknowledgements_referral_id"))
    op.drop_table("crisis_acknowledgements")
