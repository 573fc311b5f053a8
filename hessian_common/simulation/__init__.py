"""Many data owners: scenarios, misbehaviour, the simulated protocol run and its report."""
