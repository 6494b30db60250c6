"""The report layer: what a reader sees. ``report`` (rates.csv and report.md of a run folder), ``plots`` (rate
figures), ``panels`` (characteristics panels), ``comparison`` (generators side by side), ``labels`` (short group
names)."""
