"""Training: data order and windows, optimizers and schedules, and the strategies compared."""
