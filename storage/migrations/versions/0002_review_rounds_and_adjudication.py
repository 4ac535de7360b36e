"""review rounds, review claims and adjudication

Annotations and reviews gain a `revision` (a review judges one submitted revision),
reviews store the difference a correction made, reviewers claim queue entries, and
leads' adjudications of contradictory items get their own table.

No table is rebuilt, on purpose: a batch rebuild on SQLite drops the old table, and with
foreign keys on, dropping `annotations` cascades into `reviews` and deletes every review.
Columns are added in place (a constant server default keeps SQLite's ADD COLUMN possible),
`recreate="never"` makes Alembic refuse rather than rebuild, the one-decision rule is a
unique index (created in place), and the downgrade uses SQLite's native DROP COLUMN.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 10:00:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

Document = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    # server_default fills the rows already there: every existing submission is revision 1.
    with op.batch_alter_table('annotations', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='1', nullable=False))

    with op.batch_alter_table('reviews', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('changes', Document, nullable=True))
        batch_op.create_index('ix_reviews_decided_once', ['annotation_id', 'level', 'revision'], unique=True)

    op.create_table('review_claims',
    sa.Column('annotation_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['annotation_id'], ['annotations.id'], name=op.f('fk_review_claims_annotation_id_annotations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_review_claims_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('annotation_id', 'level', name=op.f('pk_review_claims'))
    )
    op.create_table('adjudications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('values', Document, nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('agreement', sa.Float(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_adjudications_item_id_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_adjudications_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_adjudications')),
    sa.UniqueConstraint('item_id', name=op.f('uq_adjudications_item_id'))
    )


def _drop_column(table: str, column: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f'ALTER TABLE {table} DROP COLUMN "{column}"')  # native since SQLite 3.35: no rebuild
    else:
        op.drop_column(table, column)


def downgrade() -> None:
    op.drop_table('adjudications')
    op.drop_table('review_claims')
    op.drop_index('ix_reviews_decided_once', table_name='reviews')
    _drop_column('reviews', 'changes')
    _drop_column('reviews', 'revision')
    _drop_column('annotations', 'revision')
