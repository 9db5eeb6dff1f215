"""Drop job_runs: runs are found in Temporal by their search attributes (account, job), so
the store keeps no copy of them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_job_runs_job_id", table_name="job_runs")
    op.drop_table("job_runs")


def downgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("job_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_job_runs"),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name="fk_job_runs_job_id_jobs", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name="fk_job_runs_account_id_accounts",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_job_runs_job_id", "job_runs", ["job_id"])
