"""Checkov and cfn-lint suppressions as template metadata, each with the reason a reviewer
reads in the code next to the resource. A finding is either fixed in the construct or
skipped here; the tests run both tools on the synthesized templates and fail on the rest.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import IConstruct


def skip_checks(construct: IConstruct, **reasons: str) -> None:
    """`skip_checks(bucket, CKV_AWS_18="why")`: checkov reads `Metadata.checkov.skip`."""
    resource = _resource(construct)
    skips = [{"id": check, "comment": reason} for check, reason in reasons.items()]
    existing = resource.get_metadata("checkov") or {}
    resource.add_metadata("checkov", {"skip": [*existing.get("skip", []), *skips]})


def skip_lint(construct: IConstruct, **reasons: str) -> None:
    """`skip_lint(function, W3005="why")`: cfn-lint reads `Metadata.cfn-lint.config`."""
    _resource(construct).add_metadata("cfn-lint", {"config": {"ignore_checks": sorted(reasons)}})


def _resource(construct: IConstruct) -> cdk.CfnResource:
    resource = construct if isinstance(construct, cdk.CfnResource) else construct.node.default_child
    if not isinstance(resource, cdk.CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to annotate")
    return resource
