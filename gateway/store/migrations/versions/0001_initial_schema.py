"""initial schema

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("chain_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("referral_id", sa.String(length=36), nullable=True),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("entry", sa.LargeBinary(), nullable=False),
        sa.Column("leaf_hash", sa.String(length=64), nullable=False),
        sa.Column("chain_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_referral_id"), ["referral_id"], unique=False)

    op.create_table(
        "clients",
        sa.Column("client_id", sa.String(length=200), nullable=False),
        sa.Column("jwks", sa.LargeBinary(), nullable=True),
        sa.Column("jwks_uri", sa.String(length=500), nullable=True),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("webhook_url", sa.String(length=500), nullable=True),
        sa.Column("webhook_secret", sa.String(length=200), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client_id"),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("referral_id", sa.String(length=36), nullable=False),
        sa.Column("destination", sa.String(length=100), nullable=False),
        sa.Column("lane", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("receipt", sa.LargeBinary(), nullable=True),
        sa.Column("task_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deliveries_claim", ["status", "lane", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_deliveries_referral_id"), ["referral_id"], unique=False
        )

    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.String(length=36), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delivery_attempts_delivery_id"), ["delivery_id"], unique=False
        )

    op.create_table(
        "fhir_resources",
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("referral_id", sa.String(length=36), nullable=True),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("client_id", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("resource_type", "id"),
    )
    with op.batch_alter_table("fhir_resources", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fhir_resources_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_fhir_resources_referral_id"), ["referral_id"], unique=False
        )
        batch_op.create_index(
            "ix_fhir_resources_type_updated", ["resource_type", "last_updated"], unique=False
        )

    op.create_table(
        "referrals",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=200), nullable=False),
        sa.Column("triage_id", sa.String(length=128), nullable=False),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("risk_level", sa.String(length=16), nullable=False),
        sa.Column("pathway", sa.String(length=16), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("consent_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("bundle", sa.LargeBinary(), nullable=False),
        sa.Column("response", sa.LargeBinary(), nullable=False),
        sa.Column("routing", sa.LargeBinary(), nullable=False),
        sa.Column("explanation", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_id", "triage_id", name="uq_referrals_client_triage"),
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referrals_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "resource_identifiers",
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("system", sa.String(length=500), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
    )
    with op.batch_alter_table("resource_identifiers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_resource_identifiers_lookup", ["resource_type", "system", "value"], unique=False
        )
        batch_op.create_index(
            "ix_resource_identifiers_resource", ["resource_type", "resource_id"], unique=False
        )

    op.create_table(
        "used_jti",
        sa.Column("client_id", sa.String(length=200), nullable=False),
        sa.Column("jti", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client_id", "jti"),
    )
    with op.batch_alter_table("used_jti", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_used_jti_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("used_jti", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_used_jti_expires_at"))

    op.drop_table("used_jti")
    with op.batch_alter_table("resource_identifiers", schema=None) as batch_op:
        batch_op.drop_index("ix_resource_identifiers_resource")
        batch_op.drop_index("ix_resource_identifiers_lookup")

    op.drop_table("resource_identifiers")
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referrals_patient_id"))

    op.drop_table("referrals")
    with op.batch_alter_table("fhir_resources", schema=None) as batch_op:
        batch_op.drop_index("ix_fhir_resources_type_updated")
        batch_op.drop_index(batch_op.f("ix_fhir_resources_referral_id"))
        batch_op.drop_index(batch_op.f("ix_fhir_resources_patient_id"))

    op.drop_table("fhir_resources")
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_attempts_delivery_id"))

    op.drop_table("delivery_attempts")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliveries_referral_id"))
        batch_op.drop_index("ix_deliveries_claim")

    op.drop_table("deliveries")
    op.drop_table("clients")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_referral_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_patient_id"))

    op.drop_table("audit_log")
    op.drop_table("audit_head")
