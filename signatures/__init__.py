"""Electronic signatures (21 CFR Part 11 subpart C, EU GMP Annex 11 §14)."""
