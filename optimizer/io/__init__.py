"""Files: plans written and read back."""
