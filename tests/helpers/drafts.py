"""Texts of the shared fixture version (tests/conftest.py `version`)."""

FIVE_G = "Member states will extend 5G coverage to all urban areas by 2028."
DATA_CENTRES = "Regional data centres will run on renewable energy."
