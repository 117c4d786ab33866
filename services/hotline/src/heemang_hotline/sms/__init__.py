"""SMS providers: one interface, a real HTTP adapter and a local one for `make run`."""
