"""The composite action (``action.yml``) end to end outside GitHub: its Validate step's
script, run by bash with the GitHub environment variables set, on a temporary git
repository whose pull request adds one problem and fixes another."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SARIF_SCHEMA = json.loads((HERE / "schemas" / "sarif-2.1.0-rtm.5.json").read_text())


def _action() -> dict:
    return yaml.safe_load((ROOT / "action.yml").read_text())


def _step(action: dict, step_id: str) -> dict:
    return next(s for s in action["runs"]["steps"] if s.get("id") == step_id)


def _run_validate_step(repo: Path, tmp: Path, inputs: dict[str, str], **github) -> tuple[int, str, dict, str]:
    action = _action()
    step = _step(action, "validate")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_", "CI"))}
    for name, expression in step["env"].items():  # ${{ inputs.x }} -> the input or its default
        key = re.fullmatch(r"\$\{\{ inputs\.([\w-]+) \}\}", expression).group(1)
        env[name] = inputs.get(key, action["inputs"][key].get("default", ""))
    summary, output, temp = tmp / "summary.md", tmp / "output.txt", tmp / "runner-temp"
    temp.mkdir(exist_ok=True)
    env.update({"GITHUB_ACTIONS": "true", "CI": "true", "GITHUB_WORKSPACE": str(repo),
                "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(output), "RUNNER_TEMP": str(temp),
                "GITHUB_REPOSITORY": "org/library", "GITHUB_SHA": "0123abc", "GITHUB_SERVER_URL": "https://github.com",
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", **github})
    proc = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr  # the step records the status; a later step fails the job
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return int(outputs["status"]), proc.stdout, outputs, summary.read_text() if summary.exists() else ""


def test_action_declares_the_inputs_and_installs_from_its_own_ref():
    action = _action()
    assert action["runs"]["using"] == "composite"
    assert {"paths", "fail-on", "baseline", "base-iri", "index"} <= set(action["inputs"])
    cache = next(s for s in action["runs"]["steps"] if s.get("uses", "").startswith("actions/cache@"))
    assert cache["if"] == "inputs.index != ''"
    assert "${{ runner.temp }}/${{ inputs.index }}.since" in cache["with"]["path"]
    install = next(s for s in action["runs"]["steps"] if "pip install" in s.get("run", ""))
    assert "${{ github.action_path }}" in install["run"]
    assert "python -m patternkg.shapes.action" in _step(action, "validate")["run"]
    fail = action["runs"]["steps"][-1]
    assert fail["if"] == "steps.validate.outputs.status != '0'" and "exit 1" in fail["run"]


def test_pull_request_run_reports_and_fails_on_the_new_problem_only(tmp_path, gitlib):
    repo = gitlib.make_repo(tmp_path / "repo")
    gitlib.git(repo, "checkout", "-q", "-b", "feature")
    gitlib.set_weight(repo / "lib" / "beta.md", "0.8", "2.5")
    gitlib.commit(repo, "beta: a weight out of range")
    gitlib.set_weight(repo / "lib" / "alpha.md", "1.5", "0.5")
    gitlib.commit(repo, "alpha: weight in range")

    status, stdout, outputs, summary = _run_validate_step(
        repo, tmp_path, {"paths": "lib"}, GITHUB_BASE_REF="main", GITHUB_EVENT_NAME="pull_request")
    assert status == 1 and outputs["failed"] == "true" and outputs["since"] == "main"
    assert outputs["new"] == "1" and outputs["fixed"] == "1"
    # annotations: the new violation first, then the closing notice with the count and the artifact
    lines = stdout.strip().splitlines()
    assert lines[0].startswith("::error file=lib/beta.md,line=") and "RelationshipShape/weight" in lines[0]
    assert lines[-1].startswith("::notice title=patternkg validate::") and "1 new, 1 fixed" in lines[-1]
    # the step summary: the change, the rules table, the fixed problem
    assert summary.startswith("## patternkg validate: ❌ failed")
    assert "since main: 1 new, 1 fixed" in summary.replace("\\", "") and "### Fixed since main: 1" in summary
    sarif = json.loads(Path(outputs["sarif"]).read_text())
    jsonschema.validate(sarif, SARIF_SCHEMA)
    states = {(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], r["baselineState"])
              for r in sarif["runs"][0]["results"]}
    assert ("RelationshipShape/weight", "lib/beta.md", "new") in states
    html = Path(outputs["html"]).read_text()
    assert "https://github.com/org/library/blob/0123abc/lib/beta.md#L" in html

    # with a kept index (written by this run, seeded for the base, then reused): the same outcome
    for _run in range(2):
        (tmp_path / "output.txt").unlink()
        kept = _run_validate_step(repo, tmp_path, {"paths": "lib", "index": "patternkg-index"},
                                  GITHUB_BASE_REF="main", GITHUB_EVENT_NAME="pull_request")
        assert kept[0] == 1 and {k: kept[2][k] for k in ("new", "fixed", "failed", "since")} == \
            {"new": "1", "fixed": "1", "failed": "true", "since": "main"}
        assert kept[1].strip().splitlines()[0] == lines[0]
    temp = tmp_path / "runner-temp"  # where the cache step restores it, outside the workspace
    assert (temp / "patternkg-index" / "meta.json").is_file()
    assert (temp / "patternkg-index.since" / "index" / "meta.json").is_file()
    assert gitlib.git(repo, "status", "--porcelain", "--untracked-files=all") == ""

    # with the new problem in the baseline, the same pull request passes
    baseline = repo / "patternkg-baseline.json"
    subprocess.run([sys.executable, "-m", "patternkg", "validate", "lib", "--write-baseline", str(baseline)],
                   cwd=repo, capture_output=True, check=False)
    (tmp_path / "output.txt").unlink()
    status, _stdout, outputs, _summary = _run_validate_step(
        repo, tmp_path, {"paths": "lib", "baseline": str(baseline)}, GITHUB_BASE_REF="main")
    assert status == 0 and outputs["failed"] == "false" and outputs["new"] == "0"


def test_push_run_without_a_base_validates_the_whole_library(tmp_path, gitlib):
    repo = gitlib.make_repo(tmp_path / "repo")
    status, stdout, outputs, summary = _run_validate_step(repo, tmp_path, {"paths": "lib", "fail-on": "warning"},
                                                          GITHUB_EVENT_NAME="push")
    assert status == 1 and outputs["since"] == ""  # the base's known weight violation fails a plain run
    assert "lib/alpha.md" in stdout and "3 files, 3 patterns" in summary
    status, stdout, _outputs, _summary = _run_validate_step(repo, tmp_path, {"paths": "nowhere"})
    assert status == 2 and "paths not found" in stdout
