"""accounts: revocable sessions, email links, per-name login throttle, look-alike names

Revision ID: 0004_accounts
Revises: 0003_api_tokens
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_accounts"
down_revision = "0003_api_tokens"
branch_labels = None
depends_on = None


def _user_fk(table: str) -> sa.Column:
    return sa.Column(
        "user_id",
        sa.Integer(),
        sa.ForeignKey("users.id", ondelete="CASCADE", name=f"fk_{table}_user_id_users"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        _user_fk("user_sessions"),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_agent", sa.String(120), nullable=False, server_default=""),
        sa.Column("ip", sa.String(45), nullable=False, server_default=""),
        sa.UniqueConstraint("key_hash", name="uq_user_sessions_key_hash"),
    )
    op.create_index("ix_user_sessions_user_id", "user_sessions", ["user_id"])
    op.create_table(
        "account_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        _user_fk("account_tokens"),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_account_tokens_token_hash"),
    )
    op.create_index("ix_account_tokens_user_id", "account_tokens", ["user_id"])
    op.create_table(
        "login_failures",
        sa.Column("key_hash", sa.String(64), primary_key=True),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
    )
    # Plain ADD COLUMN on both databases: SQLite's batch mode would rebuild the tables (and
    # drop the books' full-text triggers); unique indexes stand in for UNIQUE constraints.
    op.add_column("users", sa.Column("username_skeleton", sa.String(255), nullable=True))
    op.add_column("users", sa.Column("email", sa.String(254), nullable=True))
    op.create_index("ix_users_username_skeleton", "users", ["username_skeleton"])
    op.create_index("uq_users_email", "users", ["email"], unique=True)
    op.add_column(
        "books",
        sa.Column("added_by_deleted", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    _renormalise_usernames()


def _renormalise_usernames() -> None:
    """Give existing accounts the NFKC key and the look-alike skeleton new accounts get."""
    from bookshelf.models import User
    from bookshelf.users.names import skeleton

    bind = op.get_bind()
    users = sa.table(
        "users",
        sa.column("id", sa.Integer),
        sa.column("username", sa.String),
        sa.column("username_key", sa.String),
        sa.column("username_skeleton", sa.String),
    )
    rows = bind.execute(sa.select(users.c.id, users.c.username, users.c.username_key)).all()
    taken = {row.username_key for row in rows}
    for row in rows:
        values = {"username_skeleton": skeleton(row.username)}
        key = User.key_for(row.username)
        # Two old accounts that only NFKC tells apart keep their old keys: nothing is merged.
        if key != row.username_key and key not in taken and len(key) <= 30:
            values["username_key"] = key
            taken.add(key)
        bind.execute(sa.update(users).where(users.c.id == row.id).values(**values))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35): a batch rebuild would lose the full-text triggers.
    op.drop_column("books", "added_by_deleted")
    op.drop_index("uq_users_email", "users")
    op.drop_index("ix_users_username_skeleton", "users")
    op.drop_column("users", "email")
    op.drop_column("users", "username_skeleton")
    op.drop_table("login_failures")
    op.drop_table("account_tokens")
    op.drop_table("user_sessions")
