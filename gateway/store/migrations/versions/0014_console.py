"""console accounts, sign-in failures, server-side sessions and single sign-on flows

Revision ID: 0014_console
Revises: 0005_merge
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_console"
down_revision = "0005_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_users",
        sa.Column("username", sa.String(length=100), primary_key=True),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("destinations", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.String(length=200)),
        sa.Column("totp_secret", sa.String(length=64)),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "console_login_failures",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_console_login_failures_user_at", "console_login_failures", ["username", "at"]
    )
    op.create_table(
        "console_sessions",
        sa.Column("id_hash", sa.String(length=64), primary_key=True),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("next_path", sa.String(length=500)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_console_sessions_username", "console_sessions", ["username"])
    op.create_table(
        "console_oidc_flows",
        sa.Column("state_hash", sa.String(length=64), primary_key=True),
        sa.Column("nonce", sa.String(length=100), nullable=False),
        sa.Column("code_verifier", sa.String(length=100), nullable=False),
        sa.Column("next_path", sa.String(length=500)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("console_oidc_flows")
    op.drop_table("console_sessions")
    op.drop_table("console_login_failures")
    op.drop_table("console_users")
