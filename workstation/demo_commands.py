"""``workstation demo``: the trainers' commands (list the scenarios, check one, play one)."""

from __future__ import annotations

import argparse
import sys

from workstation.core.site import SiteConfig


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    demo = sub.add_parser("demo", help="training scenarios (see docs/TRAINERS.md)")
    demo_sub = demo.add_subparsers(dest="demo_command", required=True)
    demo_sub.add_parser("list", help="the shipped scenarios")
    check = demo_sub.add_parser(
        "check", help="read a scenario file and report every mistake in it (exit 1 if any)")
    check.add_argument("scenario", help="a shipped scenario's name, or a .toml file")
    play = demo_sub.add_parser(
        "run", help="play a scenario end to end with a scripted provider; exit 0 only when "
                    "every expected outcome in the file happened")
    play.add_argument("scenario", help="a shipped scenario's name, or a .toml file")
    play.add_argument("--headless", action="store_true", required=True,
                      help="no window: the scripted provider works through the hub's APIs")
    play.add_argument("--speed", type=float, default=60.0,
                      help="scenario minutes per real minute (default 60: a minute a second)")


def run(args: argparse.Namespace, config: SiteConfig) -> int:
    from workstation.demo import scenario as scenarios
    from workstation.resource_files import load_resources

    resources = load_resources()
    if args.demo_command == "list":
        for path in scenarios.shipped():
            try:
                title = scenarios.load(path, resources).title
            except scenarios.ScenarioError as exc:
                title = f"(cannot be played: {exc.problems[0].message})"
            print(f"{path.stem:24} {title}")
        return 0
    try:
        scenario = scenarios.load(scenarios.find(args.scenario), resources)
    except scenarios.ScenarioError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"workstation: the scenario was not started ({len(exc.problems)} "
              f"problem{'s' if len(exc.problems) != 1 else ''}).", file=sys.stderr)
        return 2
    if args.demo_command == "check":
        print(f"{scenario.path}: {scenario.title}: {len(scenario.patients)} patients, "
              "no problems found.")
        return 0
    if not 0.1 <= args.speed <= 600:
        print("workstation: --speed should be between 0.1 and 600.", file=sys.stderr)
        return 2
    from workstation.demo.headless import run as play

    return play(scenario, resources, config, speed=args.speed)
