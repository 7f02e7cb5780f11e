"""A read-only JSON API of the (suppressed) aggregates for BI tools, token-authenticated."""
