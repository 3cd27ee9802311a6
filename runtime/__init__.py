"""What every process shares, each in one home: settings (:mod:`runtime.settings`), logging
(:mod:`runtime.logs`), metrics (:mod:`runtime.metrics`) and the registry of process-wide
caches (:mod:`runtime.caches`), which one call resets."""
