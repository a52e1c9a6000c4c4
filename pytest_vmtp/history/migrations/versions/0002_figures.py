"""Figures: one row per (run, scenario, what, metric) with its value and samples, built from
the stored documents, so that baselines and charts select figures without reading documents.

The rows are derived data (pytest_vmtp.history.rows.figure_rows, the reading the gate uses):
this is also the pattern for a later change of that reading, which rebuilds them the same way.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    from pytest_vmtp.history.rows import figure_rows

    figures = op.create_table(
        "vmtp_figures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("vmtp_runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("scenario", sa.String(16), nullable=False),
        sa.Column("what", sa.String(64), nullable=False),
        sa.Column("metric", sa.String(32), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("samples", _json(), nullable=False),
        sa.Column("spread", sa.Float, nullable=False),
    )
    op.create_index("ix_vmtp_figures_run_pk", "vmtp_figures", ["run_pk"])
    op.create_index("ix_vmtp_figures_scenario_metric", "vmtp_figures", ["scenario", "metric"])
    runs = sa.table("vmtp_runs", sa.column("id", sa.Integer), sa.column("document", _json()))
    conn = op.get_bind()
    for run_pk, doc in conn.execute(sa.select(runs.c.id, runs.c.document)):
        rows = figure_rows(doc, run_pk)
        if rows:
            conn.execute(figures.insert(), rows)


def downgrade() -> None:
    op.drop_table("vmtp_figures")
