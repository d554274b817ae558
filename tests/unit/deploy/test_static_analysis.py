"""GIVEN the CDK CLI (pinned in deploy/package.json) WHEN `cdk synth` runs with no AWS account
THEN the templates pass cfn-lint and checkov with no finding, and every checkov skip carries
the reason written next to the resource. (`make deploy-tools` installs both tools.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
CDK = ROOT / "deploy" / "node_modules" / ".bin" / "cdk"
CHECKOV = ROOT / ".cache" / "checkov" / "bin" / "checkov"
CFN_LINT = Path(sys.executable).parent / "cfn-lint"
CONTEXTS = {
    # the optional parts too: subscriptions with a filter policy, an alarm e-mail, a reserve
    "subscriptions": {
        "trendReservedConcurrency": "5",
        "alertEmails": "alerts@example.com",
        "alertSms": "+15551234567",
        "alertSymbols": "AAPL,MSFT",
        "alarmEmail": "ops@example.com",
    },
    # the other options: on-demand stream, isolated consumer behind interface endpoints (in
    # one AZ), tracing, all flow logs, Container Insights, the account's own trail
    "on-demand-endpoints": {
        "shards": "0",
        "network": "endpoints",
        "endpointAzs": "1",
        "lambdaTracing": "true",
        "allFlowLogs": "true",
        "containerInsights": "true",
        "dataEventTrail": "false",
    },
    "nat": {"network": "nat", "natGateways": "2"},
}


def tool(path: Path) -> str:
    assert path.exists(), f"{path.relative_to(ROOT)} missing: run `make deploy-tools`"
    return str(path)


@pytest.fixture(scope="module", params=sorted(CONTEXTS))
def cloud_assembly(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    out = tmp_path_factory.mktemp("cdk") / "cdk.out"
    env = {
        **os.environ,
        "STOCKPIPE_PYTHON": sys.executable,
        "AWS_EC2_METADATA_DISABLED": "true",  # no instance metadata to ask for an account
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    for var in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
        env.pop(var, None)
    chosen = CONTEXTS[request.param]
    context = [arg for key, value in chosen.items() for arg in ("-c", f"{key}={value}")]
    run = subprocess.run(
        [tool(CDK), "synth", "--quiet", "--no-notices", "-o", str(out), *context],
        cwd=ROOT / "deploy",
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return out


def templates(assembly: Path) -> list[Path]:
    found = sorted(assembly.glob("*.template.json"))
    assert [p.name for p in found] == [
        "stockpipe-compute.template.json",
        "stockpipe-data.template.json",
    ]
    return found


def test_cdk_synth_works_offline_and_hashes_three_image_assets(cloud_assembly: Path) -> None:
    templates(cloud_assembly)
    assets = json.loads((cloud_assembly / "stockpipe-compute.assets.json").read_text())
    images = assets["dockerImages"].values()
    targets = sorted(image["source"]["dockerBuildTarget"] for image in images)
    assert targets == ["consumer", "producer", "trend-lambda"]
    for image in images:
        assert image["source"]["dockerFile"] == "docker/Dockerfile"


def test_each_image_context_cdk_stages_holds_its_dockerfile_and_what_it_copies(
    cloud_assembly: Path,
) -> None:
    # `cdk deploy` runs `docker build` in these staged copies, not in the repository
    assets = json.loads((cloud_assembly / "stockpipe-compute.assets.json").read_text())
    for image in assets["dockerImages"].values():
        context = cloud_assembly / image["source"]["directory"]
        dockerfile = context / image["source"]["dockerFile"]
        assert dockerfile.is_file(), f"{dockerfile.relative_to(cloud_assembly)} not staged"
        copied = [
            line.split()[1]
            for line in dockerfile.read_text().splitlines()
            if line.startswith("COPY ") and "--from" not in line
        ]
        assert copied, "the Dockerfile copies nothing from its context?"
        missing = [source for source in copied if not (context / source).exists()]
        assert missing == [], f"{image['source']['dockerBuildTarget']}: {missing} not staged"


def test_cfn_lint_finds_nothing(cloud_assembly: Path) -> None:
    run = subprocess.run(
        [tool(CFN_LINT), *map(str, templates(cloud_assembly))],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def checkov_report(assembly: Path) -> dict[str, Any]:
    run = subprocess.run(
        [
            tool(CHECKOV),
            *("-d", str(assembly), "--framework", "cloudformation", "-o", "json"),
            "--skip-download",  # no Prisma Cloud: no network, no severities
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode in (0, 1), run.stderr[-3000:]
    return dict(json.loads(run.stdout))


def test_checkov_finds_nothing_and_every_skip_says_why(cloud_assembly: Path) -> None:
    report = checkov_report(cloud_assembly)
    results = report["results"]
    failed = [(c["check_id"], c["resource"]) for c in results["failed_checks"]]
    assert failed == []
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 100
    for skipped in results["skipped_checks"]:
        comment = skipped["check_result"].get("suppress_comment", "")
        assert len(comment) > 40, f"{skipped['check_id']} on {skipped['resource']}: {comment!r}"
