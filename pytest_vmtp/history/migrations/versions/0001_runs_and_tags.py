"""Runs (the JSON document and its run id, cloud, date, description, row counts) and tags.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "vmtp_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("cloud", sa.String(255), nullable=True),
        sa.Column("date", sa.DateTime, nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("passed", sa.Integer, nullable=False),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("skipped", sa.Integer, nullable=False),
        sa.Column("added_at", sa.DateTime, nullable=False),
        sa.Column("document", _json(), nullable=False),
    )
    op.create_index("ix_vmtp_runs_run_id", "vmtp_runs", ["run_id"], unique=True)
    op.create_index("ix_vmtp_runs_cloud_date", "vmtp_runs", ["cloud", "date"])
    op.create_index("ix_vmtp_runs_date", "vmtp_runs", ["date"])
    op.create_table(
        "vmtp_tags",
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("vmtp_runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("tag", sa.String(64), primary_key=True),
    )
    op.create_index("ix_vmtp_tags_tag", "vmtp_tags", ["tag"])


def downgrade() -> None:
    op.drop_table("vmtp_tags")
    op.drop_table("vmtp_runs")
