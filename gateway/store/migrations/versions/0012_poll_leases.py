"""one status-sync poller per destination across worker processes

Revision ID: 0012_poll_leases
Revises: 0005_merge
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_poll_leases"
down_revision = "0005_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "loop_poll_leases",
        sa.Column("destination", sa.String(length=100), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("destination"),
    )


def downgrade() -> None:
    op.drop_table("loop_poll_leases")
