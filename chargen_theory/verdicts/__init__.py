"""The verdict layer: what the measurements say about the cited rates. ``claims`` (cited rates as data, with their
hypotheses and scope), ``rates`` (log-log fits, seed-t intervals, verdicts), ``calibration`` (the verdict rules'
error rates, by simulation), ``summary`` (per-claim status), ``planning`` (seeds that would decide a pilot)."""
