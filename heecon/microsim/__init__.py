"""Individual-level microsimulation: compile a scenario for the kernel, run it, summarise."""
