"""Campaigns: a survey version run for a period over providers x programmes x languages."""
