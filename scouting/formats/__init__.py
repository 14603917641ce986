"""Formats sites leave (and later enter) the app in."""
