"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('programme',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programme')),
    sa.UniqueConstraint('code', name=op.f('uq_programme_code'))
    )
    op.create_table('provider',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provider')),
    sa.UniqueConstraint('name', name=op.f('uq_provider_name'))
    )
    op.create_table('survey_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_version')),
    sa.UniqueConstraint('key', 'version', name=op.f('uq_survey_version_key'))
    )
    op.create_table('campaign',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('survey_version_id', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['survey_version_id'], ['survey_version.id'], name=op.f('fk_campaign_survey_version_id_survey_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign'))
    )
    op.create_table('staff_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('role', sa.Enum('admin', 'analyst', 'entry', 'provider', name='role', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.CheckConstraint("(role = 'provider') = (provider_id IS NOT NULL)", name=op.f('ck_staff_user_provider_role_has_provider')),
    sa.ForeignKeyConstraint(['provider_id'], ['provider.id'], name=op.f('fk_staff_user_provider_id_provider')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_user')),
    sa.UniqueConstraint('username', name=op.f('uq_staff_user_username'))
    )
    op.create_table('campaign_language',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_campaign_language_campaign_id_campaign'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('campaign_id', 'language', name=op.f('pk_campaign_language'))
    )
    op.create_table('campaign_programme',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_campaign_programme_campaign_id_campaign'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['programme_id'], ['programme.id'], name=op.f('fk_campaign_programme_programme_id_programme')),
    sa.PrimaryKeyConstraint('campaign_id', 'programme_id', name=op.f('pk_campaign_programme'))
    )
    op.create_table('campaign_provider',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_campaign_provider_campaign_id_campaign'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['provider_id'], ['provider.id'], name=op.f('fk_campaign_provider_provider_id_provider')),
    sa.PrimaryKeyConstraint('campaign_id', 'provider_id', name=op.f('pk_campaign_provider'))
    )
    op.create_table('invitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('responded', sa.Boolean(), nullable=False),
    sa.Column('created_on', sa.Date(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_invitation_campaign_id_campaign'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['programme_id'], ['programme.id'], name=op.f('fk_invitation_programme_id_programme')),
    sa.ForeignKeyConstraint(['provider_id'], ['provider.id'], name=op.f('fk_invitation_provider_id_provider')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_invitation_token_hash'))
    )
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.create_index('ix_invitation_cell', ['campaign_id', 'provider_id', 'programme_id', 'language', 'channel'], unique=False)

    op.create_table('open_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_open_link_campaign_id_campaign'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['programme_id'], ['programme.id'], name=op.f('fk_open_link_programme_id_programme')),
    sa.ForeignKeyConstraint(['provider_id'], ['provider.id'], name=op.f('fk_open_link_provider_id_provider')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open_link')),
    sa.UniqueConstraint('campaign_id', 'provider_id', 'programme_id', 'language', 'channel', name=op.f('uq_open_link_campaign_id')),
    sa.UniqueConstraint('code', name=op.f('uq_open_link_code'))
    )
    op.create_table('response',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('survey_version_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('week', sa.Date(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.CheckConstraint("channel IN ('sms', 'qr', 'paper', 'web')", name=op.f('ck_response_channel')),
    sa.CheckConstraint("status IN ('complete', 'partial')", name=op.f('ck_response_status')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_response_campaign_id_campaign'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['programme_id'], ['programme.id'], name=op.f('fk_response_programme_id_programme')),
    sa.ForeignKeyConstraint(['provider_id'], ['provider.id'], name=op.f('fk_response_provider_id_provider')),
    sa.ForeignKeyConstraint(['survey_version_id'], ['survey_version.id'], name=op.f('fk_response_survey_version_id_survey_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_response')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.create_index('ix_response_campaign_provider', ['campaign_id', 'provider_id'], unique=False)

    op.create_table('answer',
    sa.Column('response_id', sa.String(length=32), nullable=False),
    sa.Column('question_key', sa.String(length=40), nullable=False),
    sa.Column('value', sa.Integer(), nullable=True),
    sa.Column('choice', sa.String(length=40), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('dont_know', sa.Boolean(), nullable=False),
    sa.CheckConstraint('(CASE WHEN value IS NOT NULL THEN 1 ELSE 0 END) + (CASE WHEN choice IS NOT NULL THEN 1 ELSE 0 END) + (CASE WHEN text IS NOT NULL THEN 1 ELSE 0 END) + (CASE WHEN dont_know THEN 1 ELSE 0 END) = 1', name=op.f('ck_answer_exactly_one_kind')),
    sa.ForeignKeyConstraint(['response_id'], ['response.id'], name=op.f('fk_answer_response_id_response'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('response_id', 'question_key', name=op.f('pk_answer')),
    sqlite_with_rowid=False
    )


def downgrade() -> None:
    op.drop_table('answer')
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.drop_index('ix_response_campaign_provider')

    op.drop_table('response')
    op.drop_table('open_link')
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_index('ix_invitation_cell')

    op.drop_table('invitation')
    op.drop_table('campaign_provider')
    op.drop_table('campaign_programme')
    op.drop_table('campaign_language')
    op.drop_table('staff_user')
    op.drop_table('campaign')
    op.drop_table('survey_version')
    op.drop_table('provider')
    op.drop_table('programme')
