"""``python -m chargen_theory``: the same command line as ``chargen-theory``."""
from .cli import main

raise SystemExit(main())
