"""Revocable sign-in sessions: a per-user session generation that each session cookie carries.

Sign-out, a password change, a role change and switching an account off or on raise it, which ends every
session signed in before.

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    # NOT NULL with a server default: a plain ALTER on SQLite too; existing sessions (generation-less cookies)
    # are refused from now on, which signs everyone out once.
    op.add_column("users", sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    op.drop_column("users", "session_generation")
