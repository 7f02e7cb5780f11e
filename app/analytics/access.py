"""Who sees which results, and what a results address asks for: the one place pages, exports and the API share.

A results address carries its table in the query string:

- `by`: provider | programme | language | channel | month | tertial |
  year | background:<question key> (default provider; the provider role
  never gets "provider" - that would list the others);
- filters: `provider=<id>`, `programme=<id>`, `language=<code>`,
  `channel=<sms|qr|paper|web>`, `month=YYYY-MM`, `tertial=YYYY-N` (N 1-3),
  `year=YYYY`, `background:<question key>=<option key>` (parsed here; the
  results layer shows at most results.MAX_FILTERS of them at a time);
- `campaigns`: other campaigns of the same survey and index to pool with
  this one, as ids separated by commas or the parameter repeated
  (`campaigns=7,9`); at most MAX_POOLED, each one the viewer may open.

A provider-role account always gets `provider=<its own>` added, whatever
the address says; an address naming another provider is refused (404, as
if it did not exist). Anything malformed raises ParameterError with a
sentence in the staff member's language.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from flask import abort
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..accounts.models import Role
from ..accounts.policy import Permission, allows
from ..campaigns.models import Campaign
from ..i18n import LANGUAGES
from ..respond.models import CHANNELS
from ..surveys.definition import SurveyDefinition
from .results import same_question
from .scope import Breakdown, Filter, Selection

#: The most campaigns one address may pool (the one asked for and those in `campaigns`): each is
#: tabled on its own before they are pooled (results._pooled_table). Twelve cover a survey's
#: campaigns over several years.
MAX_POOLED = 12

#: The query parameter naming the campaigns pooled with the one in the path.
POOL = "campaigns"

#: Query parameters that are not filters.
NON_FILTERS = frozenset({"by", "lang", "q", "text", POOL})

_MONTH = re.compile(r"^(\d{4})-(\d{2})\Z")
_TERTIAL = re.compile(r"^(\d{4})-([123])\Z")
_YEAR = re.compile(r"^(\d{4})\Z")
_ID = re.compile(r"^[1-9]\d{0,9}\Z")


class ParameterError(ValueError):
    """A results address the page cannot answer; str(error) says why, in the staff member's language."""


@dataclass(frozen=True)
class TableRequest:
    """What one results address asks for: the selection and its breakdown, and whose eyes it is for.

    `own_provider` is the provider-role account's provider (None for
    analysts and admins): such a viewer sees only that provider's figures.
    """

    selection: Selection
    breakdown: Breakdown
    own_provider: int | None


def sees_all(user) -> bool:
    """Whether `user` may see every provider's results (analyst, admin)."""
    return allows(user, Permission.VIEW_ALL_RESULTS)


def own_provider(user) -> int | None:
    """The provider a provider-role account is limited to; None for one that sees all.

    Aborts 403 for an account that may see no results at all.
    """
    if sees_all(user):
        return None
    if allows(user, Permission.VIEW_OWN_RESULTS) and user.role == Role.PROVIDER and user.provider_id:
        return user.provider_id
    abort(403)


def visible_campaigns(session: Session, user) -> list[Campaign]:
    """The campaigns whose results `user` may open, newest first: all, or those including its provider."""
    provider = own_provider(user)
    campaigns = session.scalars(select(Campaign).order_by(Campaign.starts_on.desc(), Campaign.id.desc()))
    return [c for c in campaigns if provider is None or provider in {p.id for p in c.providers}]


def campaign_for(session: Session, user, campaign_id: int) -> Campaign:
    """The campaign if `user` may see its results; 404 otherwise (unknown, or without the user's provider)."""
    campaign = session.get(Campaign, campaign_id)
    provider = own_provider(user)
    if campaign is None or (provider is not None and provider not in {p.id for p in campaign.providers}):
        abort(404)
    return campaign


def clean_args(args: Mapping[str, str]) -> dict[str, str]:
    """The query string as one text per name: empty values left out (the filter form sends "" for "all",
    which is no filter), and a parameter given more than once - the pooled campaigns' checkboxes, or a
    filter repeated by hand - as its distinct values separated by commas (a filter's value holds no
    comma, so table_request refuses a repeated filter instead of reading its first value)."""
    names = args.keys() if hasattr(args, "getlist") else list(args)
    cleaned = {}
    for name in dict.fromkeys(names):
        values = args.getlist(name) if hasattr(args, "getlist") else [args[name]]
        values = list(dict.fromkeys(value for value in values if value != ""))
        if values:
            cleaned[name] = ",".join(values)
    return cleaned


def table_request(session: Session, campaign: Campaign, args: Mapping[str, str], user) -> TableRequest:
    """Read a results address's query string (module docstring) for this campaign and this user.

    The selection holds `campaign` and the campaigns pooled with it
    (`pooled_campaigns`). Raises ParameterError for an unknown breakdown or
    filter, a malformed value, a filter given more than one value, a
    provider or programme the campaigns do not include, or a campaign that
    cannot be pooled; aborts 404 when a provider-role account names another
    provider, or a campaign the user may not open. `args` may be a
    request's MultiDict or clean_args' dict.
    """
    args = clean_args(args)
    campaigns = pooled_campaigns(session, user, campaign, args)
    definition = campaign.survey_version.definition
    provider = own_provider(user)
    breakdown = parse_breakdown(args.get("by") or ("provider" if provider is None else "programme"), definition)
    if provider is not None and breakdown.dimension == "provider":
        abort(404)
    filters: dict[Breakdown, Filter] = {}
    for name, raw in args.items():
        if name in NON_FILTERS:
            continue
        dimension = parse_breakdown(name, definition)
        if "," in raw:
            raise ParameterError(_("Give %(name)s one value: a table takes one value of a filter at a time.",
                                   name=name[:40]))
        filters[dimension] = Filter(dimension, parse_value(dimension, raw, definition))
        if dimension.dimension in ("provider", "programme") and not _in_campaigns(campaigns, filters[dimension]):
            if provider is not None and dimension.dimension == "provider":
                abort(404)
            raise ParameterError(_("The filter value %(value)s is not one this survey has.", value=raw[:40]))
    for other in campaigns[1:]:
        # A pooled campaign's version must mark the background questions asked for as such too: a
        # breakdown by an ordinary question is one the anonymity sets were never built for.
        marked = {question.key for question in other.survey_version.definition.background_questions}
        for part in (breakdown, *filters):
            if part.dimension == "background" and part.question_key not in marked:
                raise ParameterError(_("This survey has no background question %(key)s.", key=part.question_key[:40]))
    if provider is not None:
        asked = filters.get(Breakdown("provider"))
        if asked is not None and asked.value != provider:
            abort(404)
        filters[Breakdown("provider")] = Filter(Breakdown("provider"), provider)
    return TableRequest(Selection(tuple(c.id for c in campaigns), tuple(filters.values())), breakdown, provider)


def _in_campaigns(campaigns: list[Campaign], item: Filter) -> bool:
    """Whether a provider or programme filter names one that some of `campaigns` include."""
    return any(item.value in {member.id for member in getattr(campaign, item.breakdown.dimension + "s")}
               for campaign in campaigns)


def poolable_campaigns(session: Session, user, campaign: Campaign) -> list[Campaign]:
    """The campaigns `user` may pool with `campaign` (the same survey and index, visible to the user), newest first."""
    definition = campaign.survey_version.definition
    return [other for other in visible_campaigns(session, user)
            if other.id != campaign.id and other.survey_version.definition.key == definition.key
            and other.survey_version.definition.index == definition.index]


def pooled_campaigns(session: Session, user, campaign: Campaign, args: Mapping[str, str]) -> list[Campaign]:
    """`campaign` first, then each campaign the address pools with it (`campaigns`), once each, in id order.

    Raises ParameterError for a malformed list, more than MAX_POOLED
    campaigns, or one of another survey or index, or whose index questions
    are answered otherwise (other scale points or positive end: its scores
    would not be comparable); aborts 404 for one the user may not open
    (campaign_for).
    """
    ids = set()
    for raw in pool_values(args):
        if not _ID.match(raw) or int(raw) >= 2**31:
            raise ParameterError(_("The campaigns to pool must be given by their numbers, separated by commas."))
        ids.add(int(raw))
    ids.discard(campaign.id)
    if len(ids) + 1 > MAX_POOLED:
        raise ParameterError(_("Pool at most %(count)d campaigns at a time.", count=MAX_POOLED))
    pooled = [campaign]
    definition = campaign.survey_version.definition
    for campaign_id in sorted(ids):
        other = campaign_for(session, user, campaign_id)
        other_definition = other.survey_version.definition
        if (other_definition.key != definition.key or other_definition.index != definition.index
                or not all(same_question(definition, other_definition, key) for key in definition.index.questions)):
            raise ParameterError(_("%(name)s uses another survey or index and cannot be pooled with this campaign.",
                                   name=other.name[:80]))
        pooled.append(other)
    return pooled


def pool_values(args: Mapping[str, str]) -> list[str]:
    """The texts of the `campaigns` parameter: every value when it is repeated, each split at commas."""
    values = args.getlist(POOL) if hasattr(args, "getlist") else [args.get(POOL) or ""]
    return [part.strip() for value in values for part in (value or "").split(",") if part.strip()]


def parse_breakdown(name: str, definition: SurveyDefinition) -> Breakdown:
    """A breakdown or filter name ("provider", "background:gender") as a Breakdown; ParameterError otherwise."""
    if name.startswith("background:"):
        key = name.split(":", 1)[1]
        if key not in {q.key for q in definition.background_questions}:
            raise ParameterError(_("This survey has no background question %(key)s.", key=key[:40]))
        return Breakdown("background", key)
    if name in ("provider", "programme", "language", "channel", "month", "tertial", "year"):
        return Breakdown(name)
    raise ParameterError(_("Results cannot be filtered or broken down by %(name)s.", name=name[:40]))


def parse_value(breakdown: Breakdown, raw: str, definition: SurveyDefinition):
    """A filter's value from its text (access module docstring); ParameterError when malformed."""
    dimension = breakdown.dimension
    value = None
    if dimension in ("provider", "programme") and _ID.match(raw) and int(raw) < 2**31:
        value = int(raw)
    elif dimension == "language" and raw in LANGUAGES:
        value = raw
    elif dimension == "channel" and raw in CHANNELS:
        value = raw
    elif dimension == "month" and (match := _MONTH.match(raw)) and _year(match[1]) and 1 <= int(match[2]) <= 12:
        value = date(int(match[1]), int(match[2]), 1)
    elif dimension == "tertial" and (match := _TERTIAL.match(raw)) and _year(match[1]):
        value = (int(match[1]), int(match[2]))
    elif dimension == "year" and _YEAR.match(raw) and _year(raw):
        value = int(raw)
    elif dimension == "background":
        options = {option.key for option in definition.question(breakdown.question_key).options}
        value = raw if raw in options else None
    if value is None:
        raise ParameterError(_("The filter value %(value)s is not one this survey has.", value=raw[:40]))
    return value


def _year(text: str) -> bool:
    """Whether four digits are a year a date can hold (1-9999: year 0 does not exist)."""
    return int(text) >= 1


def filter_args(request_: TableRequest) -> dict[str, str]:
    """The query string that asks for this request's filters, breakdown and pooled campaigns again
    (links from a page to its exports and other pages)."""
    args = {}
    for item in request_.selection.filters:
        dimension = item.breakdown.dimension
        name = f"background:{item.breakdown.question_key}" if dimension == "background" else dimension
        value = item.value
        if dimension == "month":
            value = f"{value.year}-{value.month:02d}"
        elif dimension == "tertial":
            value = f"{value[0]}-{value[1]}"
        args[name] = str(value)
    pooled = request_.selection.campaign_ids[1:]
    if pooled:
        args[POOL] = ",".join(map(str, pooled))
    by = request_.breakdown
    args["by"] = f"background:{by.question_key}" if by.dimension == "background" else by.dimension
    return args
