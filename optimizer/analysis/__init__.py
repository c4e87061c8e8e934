"""Reading a plan: shadow prices, unserved demand, diagnosis, cost of compliance, report."""
