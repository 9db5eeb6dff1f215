"""How a job's transform key was derived: the scrypt salt and parameters of a key stretched
from a user's passphrase. Rows stored before keep NULL in both: their key is used as stored,
so their outputs do not change.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("transform_key_salt", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("transform_key_kdf", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("transform_key_kdf")
        batch.drop_column("transform_key_salt")
