#!/usr/bin/env python3
"""Checks the Grafana dashboards and alert rules in deploy/ against the daemons' metrics.

Every metric a dashboard query or an alert names must be one the daemons export: its name
appears as a string in src/ (histogram series without their _bucket/_sum/_count suffix). The
dashboards must also be well-formed: unique panel ids, panels inside the 24-column grid, every
query on the dashboard's Prometheus variable.
Usage: check_dashboards.py <repository root>
"""
import json
import pathlib
import re
import sys

METRIC = re.compile(r"\b((?:oakestra|process)_[a-z0-9_]+)\b")
SUFFIXES = ("_bucket", "_sum", "_count")


def exported_names(src: pathlib.Path) -> set:
    names = set()
    for path in src.rglob("*.cpp"):
        names.update(re.findall(r'"((?:oakestra|process)_[a-z0-9_]+)"', path.read_text()))
    # Names built from a level ("oakestra_{root|cluster}_..."): both levels.
    for path in src.rglob("*.cpp"):
        for what in re.findall(r'name\(level, "([a-z0-9_]+)"\)', path.read_text()):
            names.update({f"oakestra_root_{what}", f"oakestra_cluster_{what}"})
    return names


def base(name: str) -> str:
    for s in SUFFIXES:
        if name.endswith(s):
            return name[: -len(s)]
    return name


def queries(dashboard: dict):
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield panel["title"], target
    for var in dashboard["templating"]["list"]:
        if var["type"] == "query":
            yield "variable " + var["name"], {"expr": var["definition"], "datasource": var["datasource"]}


def check_dashboard(path: pathlib.Path, exported: set) -> list:
    errors = []
    d = json.loads(path.read_text())
    ids = [p["id"] for p in d["panels"]]
    if len(ids) != len(set(ids)):
        errors.append(f"{path.name}: duplicate panel ids")
    for p in d["panels"]:
        g = p["gridPos"]
        if g["x"] < 0 or g["w"] <= 0 or g["x"] + g["w"] > 24:
            errors.append(f"{path.name}: panel '{p['title']}' leaves the grid")
    variables = {v["name"] for v in d["templating"]["list"]}
    if "datasource" not in variables:
        errors.append(f"{path.name}: no datasource variable")
    for title, target in queries(d):
        if target.get("datasource", {}).get("uid") != "${datasource}":
            errors.append(f"{path.name}: '{title}' does not use the datasource variable")
        for name in METRIC.findall(target["expr"]):
            if base(name) not in exported and name not in exported:
                errors.append(f"{path.name}: '{title}' uses {name}, which no daemon exports")
        for var in re.findall(r"\$([a-z_]+)", target["expr"]):
            if var not in variables and not var.startswith("__"):
                errors.append(f"{path.name}: '{title}' uses the undefined variable ${var}")
    return errors


def check_rules(path: pathlib.Path, exported: set) -> list:
    errors = []
    for line in path.read_text().splitlines():
        if line.strip().startswith("expr:") or line.startswith("          "):
            for name in METRIC.findall(line):
                if base(name) not in exported and name not in exported:
                    errors.append(f"{path.name}: uses {name}, which no daemon exports")
    return errors


def main() -> int:
    root = pathlib.Path(sys.argv[1])
    exported = exported_names(root / "src")
    errors = []
    dashboards = sorted((root / "deploy/grafana/dashboards").glob("*.json"))
    if len(dashboards) < 2:
        errors.append("expected the root and the cluster dashboards")
    for path in dashboards:
        errors += check_dashboard(path, exported)
    errors += check_rules(root / "deploy/prometheus/alerts.yml", exported)
    for e in errors:
        print(e)
    print(f"{len(dashboards)} dashboards, {len(exported)} exported names, {len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
