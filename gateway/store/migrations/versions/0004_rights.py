"""erasure registry for patient rights

Revision ID: 0004_rights
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_rights"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "erased_patients",
        sa.Column("identifier_hash", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("identifier_hash", "patient_id"),
    )


def downgrade() -> None:
    op.drop_table("erased_patients")
