"""CDS Hooks cards issued and the feedback on them

Revision ID: 0016_cds
Revises: 0005_merge
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_cds"
down_revision = "0005_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cds_cards",
        sa.Column("card_uuid", sa.String(length=36), nullable=False),
        sa.Column("iss", sa.String(length=500), nullable=False),
        sa.Column("referral_id", sa.String(length=36), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("model_version", sa.String(length=100), nullable=False),
        sa.Column("first_issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("card_uuid", "iss"),
    )
    op.create_index("ix_cds_cards_referral_id", "cds_cards", ["referral_id"])
    op.create_table(
        "cds_feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("referral_id", sa.String(length=36), nullable=False),
        sa.Column("card_uuid", sa.String(length=36), nullable=False),
        sa.Column("iss", sa.String(length=500), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("override_reason", sa.String(length=500), nullable=True),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("model_version", sa.String(length=100), nullable=False),
        sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_cds_feedback_referral", "cds_feedback", ["referral_id", "card_uuid"])


def downgrade() -> None:
    op.drop_index("ix_cds_feedback_referral", table_name="cds_feedback")
    op.drop_table("cds_feedback")
    op.drop_index("ix_cds_cards_referral_id", table_name="cds_cards")
    op.drop_table("cds_cards")
