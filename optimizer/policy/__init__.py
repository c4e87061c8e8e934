"""Export-control policies: the Policy object, presets, tiers and the rules."""
