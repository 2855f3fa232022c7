"""merge the crisis, loop and rights branches into one head

Later schema changes revise this one, so the history has a single line again.

Revision ID: 0005_merge
Revises: 0002_crisis, 0003_loop, 0004_rights
"""

revision = "0005_merge"
down_revision = ("0002_crisis", "0003_loop", "0004_rights")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
