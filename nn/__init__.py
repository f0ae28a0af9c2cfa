"""nn: modules, layers, losses, optimizers and data sets on top of autodiff."""
