"""Forms for comment pages: shape only; rules live in comments/services.py."""
