"""Real networks on CIFAR-10 (planned: issues "validation (1/2)" and "(2/2)")."""
