"""Forms for the secretariat's pages; they validate input shape, services validate rules."""
