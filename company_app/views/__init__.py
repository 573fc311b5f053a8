"""One blueprint per feature: dashboard, tasks (create), models (page, evaluate, close...),
account."""
