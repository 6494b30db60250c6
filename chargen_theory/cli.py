"""The command line: ``chargen-theory run | report | list`` (also ``python -m chargen_theory``).

    chargen-theory run [CONFIG] [--out DIR] [--jobs N] [--backend loky|dask] [--scheduler ADDR] [--force]
                       [--no-report] [--plugin MODULE ...]
    chargen-theory report DIR
    chargen-theory plan DIR --budget SECONDS
    chargen-theory list targets|paths|estimators|claims|experiments [--plugin MODULE ...]

CONFIG is a TOML file, or the name of a config bundled with the package in chargen_theory/configs/ ("quick",
"paper", "tiny"); default quick. OUT defaults to results/<config name>/. A user mistake (bad argument, bad config,
output folder that cannot be written, unreachable scheduler, plugin that fails to import) prints one line on
stderr and exits with status 2, before anything is written; so does a plugin that fails on the workers, after the
cells that do not use it have run (they are cached). ``--jobs`` is capped at the usable CPUs. ``--plugin MODULE``
(repeatable) imports a user module that registers estimators, generators, targets or experiment kinds, here and in
every worker (chargen_theory.plugins).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from importlib import resources
from pathlib import Path

CONFIG_DIR = resources.files(__package__) / "configs"  # the bundled configs (package data)
DEFAULT_CONFIG = "quick"
LISTS = ("targets", "paths", "estimators", "claims", "experiments")


class _UsageError(ValueError):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of usage + message; main() exits with status 2
        raise _UsageError(f"{message} (see {self.prog} --help)")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def _usable_cpus() -> int:
    """CPUs this process may run on (affinity-aware where the OS tells)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="chargen-theory", description="Check the convergence-rate claims of the characteristic "
                                                        "generator on targets with exact velocity fields.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{run,report,plan,list}")
    run = commands.add_parser("run", help="run a sweep, then write its report")
    run.add_argument("config", nargs="?", default=None,
                     help=f"TOML config file or bundled config name (default: {DEFAULT_CONFIG})")
    run.add_argument("--out", default=None, help="output folder (default: results/<config name>/)")
    run.add_argument("--jobs", type=_positive_int, default=_usable_cpus(),
                     help=f"parallel workers (default and maximum: the usable CPU count, {_usable_cpus()} here)")
    run.add_argument("--backend", choices=("loky", "dask"), default="loky",
                     help="joblib loky processes or a Dask cluster (default: loky)")
    run.add_argument("--scheduler", default=None,
                     help="Dask scheduler address (with --backend dask; default: a LocalCluster of --jobs workers)")
    run.add_argument("--force", action="store_true", help="recompute cached cells")
    run.add_argument("--no-report", action="store_true", help="write results.csv and run.json only")
    _plugin_option(run)
    run.set_defaults(func=_run)
    report = commands.add_parser("report", help="redraw everything run draws (rates.csv, figures/, generators.md, "
                                                "report.md) for a finished run")
    report.add_argument("dir", help="a run folder holding results.csv and run.json")
    _plugin_option(report)
    report.set_defaults(func=_report)
    planner = commands.add_parser("plan", help="propose seeds or levels that would decide a pilot run's undecided "
                                               "groups within a time budget")
    planner.add_argument("dir", help="a pilot run folder holding results.csv and run.json")
    planner.add_argument("--budget", type=_positive_seconds, required=True, metavar="SECONDS",
                         help="wall seconds the next run may spend on extra seeds")
    planner.set_defaults(func=_plan)
    listing = commands.add_parser("list", help="list registered names")
    listing.add_argument("what", choices=LISTS)
    _plugin_option(listing)
    listing.set_defaults(func=_list)
    return parser


def _plugin_option(command) -> None:
    command.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                         help="import MODULE (from the working directory or the environment) first, in every worker "
                              "too: it registers your estimators, targets or experiment kinds; repeatable")


def bundled_configs() -> list[str]:
    """Names of the configs bundled with the package, sorted."""
    entries = CONFIG_DIR.iterdir() if CONFIG_DIR.is_dir() else ()  # none in a broken install
    return sorted(entry.name[:-len(".toml")] for entry in entries if entry.name.endswith(".toml"))


def resolve_config(name: str | None):
    """The config file for ``name``: an existing file path (a Path), else a bundled config by name or file name
    (an ``importlib.resources`` Traversable); ValueError listing the bundled names otherwise."""
    name = DEFAULT_CONFIG if name is None else name
    if Path(name).is_file():
        return Path(name)
    for candidate in (CONFIG_DIR / name, CONFIG_DIR / f"{name}.toml"):
        if candidate.is_file():
            return candidate
    raise ValueError(f"config: no file {name!r}; bundled configs: {', '.join(bundled_configs()) or 'none'}")


def _run(args) -> int:
    from .study import config, plugins, sweep

    if args.scheduler is not None and args.backend != "dask":
        raise ValueError("--scheduler: only used with --backend dask")
    if args.out is not None and not args.out.strip():
        raise ValueError(f"--out: must name a folder, got {args.out!r} (the default is results/<config name>/)")
    start = time.perf_counter()
    for plugin in plugins.load(args.plugin):
        names = ", ".join(f"{registry} {name}" for registry, name in plugin.registered) or "no names"
        version = f" {plugin.version}" if plugin.version else ""
        print(f"plugin: {plugin.name}{version} (sha256 {plugin.sha256[:12]}): {names}", file=sys.stderr)
    with resources.as_file(resolve_config(args.config)) as path:
        cfg = config.load(path)
    out = Path(args.out) if args.out is not None else Path("results") / cfg.name
    table = sweep.run(cfg, out, jobs=args.jobs, backend=args.backend, scheduler=args.scheduler, force=args.force,
                      progress=True, plugins=args.plugin)
    swept = time.perf_counter() - start
    counts = ", ".join(f"{s} {int((table['status'] == s).sum())}" for s in sweep.STATUSES)
    print(f"sweep: {len(table)} rows ({counts}) in {swept:.1f} s -> {out / 'results.csv'}", file=sys.stderr)
    if not args.no_report:
        from .reporting import report

        drawn = report.write_all(out, cfg)
        _print_panels(drawn)
        print(f"report: {drawn.report}", file=sys.stderr)
    print(f"total wall time: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 0


def _report(args) -> int:
    from .reporting import report
    from .study import plugins

    folder = Path(args.dir)
    for name in ("results.csv", "run.json"):
        if not (folder / name).is_file():
            raise ValueError(f"dir: {str(folder)!r} holds no {name}; give the output folder of a finished run")
    plugins.load(args.plugin)
    drawn = report.write_all(folder)
    _print_panels(drawn)
    print(drawn.report)
    return 0


def _print_panels(drawn) -> None:
    """The panels and comparison files ``report.write_all`` wrote, or why it drew no panels, on stderr."""
    for panel in [*drawn.panels, *drawn.comparison]:
        print(f"panel: {panel}", file=sys.stderr)
    if drawn.panels_skipped:
        print(f"panels: not drawn: {drawn.panels_skipped}", file=sys.stderr)


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text!r}")
    return value


def _plan(args) -> int:
    from .verdicts import planning

    print(planning.format_plan(planning.plan(Path(args.dir), args.budget), args.budget))
    return 0


def _list(args) -> int:
    from .study import claims, experiments, plugins
    from . import paths, targets, velocity

    plugins.load(args.plugin)
    if args.what == "targets":
        lines = targets.names()
    elif args.what == "paths":
        lines = [f"{name}: {paths.get(name).description}" for name in paths.names()]
    elif args.what == "estimators":
        lines = velocity.names()
    elif args.what == "claims":
        lines = [f"{c.id}: {c.quantity} ~ {c.law} [{c.kind}, {c.standing}]\n    {c.hypotheses}"
                 + (f"\n    source: {c.source_ref}" if c.source_ref else "") for c in map(claims.get, claims.names())]
    else:
        lines = []
        for kind in map(experiments.get, experiments.names()):
            params = ", ".join(f"{key} (required)" if default == experiments.REQUIRED else
                               f"{key} (optional)" if default is None else f"{key}={default!r}"
                               for key, default in kind.parameters.items())
            lines.append(f"{kind.name}: {kind.description} [{params}]")
    print("\n".join(lines))
    return 0


def main(argv=None) -> int:
    """Entry point of ``chargen-theory``; returns the exit status (2 for a user mistake)."""
    try:
        args = _parser().parse_args(argv)
        return args.func(args)
    except ValueError as err:
        from .study.config import one_line

        print(f"chargen-theory: error: {one_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("chargen-theory: interrupted; finished cells are cached, run the same command again to resume",
              file=sys.stderr)
        return 130
