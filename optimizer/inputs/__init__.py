"""Input tables: the CSV contract, reading and validation, the validated Scenario."""
