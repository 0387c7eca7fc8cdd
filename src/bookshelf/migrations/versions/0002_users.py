"""users, and who added each book (seeded books have no owner)

Revision ID: 0002_users
Revises: 0001_books
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from bookshelf.search.schema import SQLITE_FTS_TRIGGERS

revision = "0002_users"
down_revision = "0001_books"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(30), nullable=False),
        sa.Column("username_key", sa.String(30), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("is_admin", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.UniqueConstraint("username_key", name="uq_users_username_key"),
    )
    if op.get_bind().dialect.name == "sqlite":
        # A plain ADD COLUMN keeps the table (and its FTS triggers); batch mode would rebuild it.
        op.execute(
            "ALTER TABLE books ADD COLUMN added_by_id INTEGER "
            "REFERENCES users (id) ON DELETE SET NULL"
        )
    else:
        op.add_column("books", sa.Column("added_by_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "fk_books_added_by_id_users",
            "books",
            "users",
            ["added_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_index("ix_books_added_by_id", "books", ["added_by_id"])


def downgrade() -> None:
    op.drop_index("ix_books_added_by_id", "books")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot drop a referencing column in place: rebuild, then restore the triggers.
        with op.batch_alter_table("books", recreate="always") as batch:
            batch.drop_column("added_by_id")
        for statement in SQLITE_FTS_TRIGGERS:
            op.execute(statement)
    else:
        op.drop_constraint("fk_books_added_by_id_users", "books", type_="foreignkey")
        op.drop_column("books", "added_by_id")
    op.drop_table("users")
