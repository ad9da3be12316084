"""capsim."""
