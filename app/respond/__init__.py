"""The anonymous respondent flow: nothing here may identify a customer."""

#: Every respondent URL starts with one of these (see views.py); logs leave them out.
RESPONDENT_PATH_PREFIXES = ("/s/", "/o/", "/survey", "/thanks")
