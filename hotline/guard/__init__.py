"""Protection against PIN guessing: lockouts per caller number and a per-hotline alarm."""
