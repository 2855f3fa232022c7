"""clinicians' reviews of the AI's risk level and drift alert state

Revision ID: 0015_trust
Revises: 0005_merge
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_trust"
down_revision = "0005_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trust_reviews",
        sa.Column("referral_id", sa.String(length=36), nullable=False),
        sa.Column("reviewer", sa.String(length=250), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("model_version", sa.String(length=100), nullable=False),
        sa.Column("reviewer_display", sa.String(length=200), nullable=False),
        sa.Column("client_id", sa.String(length=200), nullable=True),
        sa.Column("risk_level", sa.String(length=16), nullable=False),
        sa.Column("ai_risk_level", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("risk_assessment_id", sa.String(length=64), nullable=False),
        sa.Column("provenance_id", sa.String(length=64), nullable=False),
        sa.Column("first_reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("referral_id", "reviewer"),
    )
    op.create_table(
        "trust_drift_alerts",
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("psi", sa.Float(), nullable=True),
        sa.Column("under_triage_rate", sa.Float(), nullable=True),
        sa.Column("referrals", sa.Integer(), nullable=False),
        sa.Column("reviews", sa.Integer(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("model", "version"),
    )


def downgrade() -> None:
    op.drop_table("trust_drift_alerts")
    op.drop_table("trust_reviews")
