"""Batched teacher-student pruning simulations in JAX (planned: issue "sim")."""
