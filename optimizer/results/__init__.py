"""Plans: expanding a solution to sites and pairs, plan tables, summary, the checker."""
