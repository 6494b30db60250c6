"""The study layer: what is run and how. ``config`` (TOML -> validated cells), ``cells`` (one grid point: identity
and seeds), ``schedules`` (a parameter as an expression in n), ``experiments/`` (kinds: what one cell measures),
``sweep`` (units, cache, parallel run, results table), ``plugins`` (the user's registering modules), ``outputs``
(the output folder: atomic writes, lock)."""
