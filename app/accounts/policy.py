"""Who may do what: the one place that decides.

Views declare the permission they need with `@requires(Permission.X)`;
templates ask `can(Permission.X)`. Nothing else looks at roles.
"""

from __future__ import annotations

import enum
from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from .models import Role


class Permission(enum.Enum):
    """Something a staff user may do; roles grant them (`ROLE_PERMISSIONS`)."""

    MANAGE_USERS = "manage_users"
    MANAGE_ORGANISATION = "manage_organisation"
    MANAGE_CAMPAIGNS = "manage_campaigns"
    #: Results of every provider.
    VIEW_ALL_RESULTS = "view_all_results"
    #: Results of the user's own provider only (provider role).
    VIEW_OWN_RESULTS = "view_own_results"
    ENTER_PAPER = "enter_paper"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.ANALYST: frozenset(
        {Permission.MANAGE_CAMPAIGNS, Permission.VIEW_ALL_RESULTS, Permission.MANAGE_ORGANISATION}
    ),
    Role.ENTRY: frozenset({Permission.ENTER_PAPER}),
    Role.PROVIDER: frozenset({Permission.VIEW_OWN_RESULTS}),
}


def allows(user, permission: Permission) -> bool:
    """Whether `user` (a User, or Flask-Login's anonymous user) is signed in, active, and granted `permission`."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "active", False):
        return False
    return permission in ROLE_PERMISSIONS.get(user.role, frozenset())


def can(permission: Permission) -> bool:
    """`allows` for this request's user (`current_user`); templates call it to show what the user may use."""
    return allows(current_user, permission)


def requires(permission: Permission):
    """View decorator: the view runs only for a signed-in, active user who `can(permission)`.

    Not signed in: a redirect (302) to the sign-in page with `next`
    (Flask-Login's `login_required`); signed in without the permission: 403.
    """
    def decorator(view):
        """Wrap `view` so that it runs only for a user `can(permission)` allows."""
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            """The view for an allowed user; sign-in for a stranger, 403 for a signed-in user without the permission."""
            if not can(permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
