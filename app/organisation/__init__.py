"""Providers and programmes: who delivers what a municipality buys."""
