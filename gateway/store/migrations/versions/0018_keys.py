"""signing keys that rotate without a restart

Revision ID: 0018_keys
Revises: 0005_merge
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_keys"
down_revision = "0005_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(length=128), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("alg", sa.String(length=8), nullable=False),
        sa.Column("private_pem", sa.LargeBinary(), nullable=True),
        sa.Column("public_jwk", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unpublish_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("kid"),
    )
    op.create_index("ix_signing_keys_purpose", "signing_keys", ["purpose"])


def downgrade() -> None:
    op.drop_index("ix_signing_keys_purpose", table_name="signing_keys")
    op.drop_table("signing_keys")
