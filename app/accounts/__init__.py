"""Staff accounts, roles and the one access policy."""
