"""Every model, imported in one place so the metadata is complete (Alembic, tests)."""

from .accounts.models import User  # noqa: F401
from .analytics.models import AnswerCount, ReferenceValue, ResponseTally  # noqa: F401
from .api.models import ApiToken  # noqa: F401
from .campaigns.models import Campaign, CampaignLanguage, Invitation, InvitationBatch, OpenLink  # noqa: F401
from .db import Base
from .idempotency import FormSubmission  # noqa: F401
from .mixing.models import AnswerKey, CellCount, FormNonce, MixerInstallation, WaitingAnswer  # noqa: F401
from .organisation.models import Programme, Provider  # noqa: F401
from .respond.models import Answer, Response  # noqa: F401
from .surveys.models import SurveyVersion  # noqa: F401

metadata = Base.metadata
