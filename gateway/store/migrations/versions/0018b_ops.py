"""paused model versions (gateway models pause / resume)

Revision ID: 0018b_ops
Revises: 0018_keys
"""

import sqlalchemy as sa
from alembic import op

revision = "0018b_ops"
down_revision = "0018_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "paused_models",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paused_by", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("name", "version"),
    )


def downgrade() -> None:
    op.drop_table("paused_models")
