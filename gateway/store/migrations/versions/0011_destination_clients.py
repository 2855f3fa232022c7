"""run-time destination recipients (gateway destinations add-client / remove-client)

Revision ID: 0011_destination_clients
Revises: 0005_merge
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_destination_clients"
down_revision = "0005_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "destination_clients",
        sa.Column("destination", sa.String(length=100), nullable=False),
        sa.Column("client_id", sa.String(length=200), nullable=False),
        sa.Column("member", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("destination", "client_id"),
    )


def downgrade() -> None:
    op.drop_table("destination_clients")
