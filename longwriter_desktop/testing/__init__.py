"""Test doubles that are real programs (a local Hub server). Never used by the app itself."""
