"""`generate --executor ray`: a run's trees searched by Ray workers (`worker`), its run
folder, request cache, budgets and limits kept by the driver (`driver`); what they send each
other is in `wire`. Only `driver` imports Ray (`pip install 'journeygen[ray]'`)."""
