"""Comments on draft sections. The commenting models arrive with the commenting issue."""
