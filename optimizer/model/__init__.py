"""Model building: eligibility, scaled data, the plain and fast formulations, matrices."""
