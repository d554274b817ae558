"""`python -m deploy`: the command cdk.json gives the CDK CLI."""

from __future__ import annotations

import sys

import aws_cdk as cdk

from deploy.app import build
from deploy.config import ConfigError


def main() -> int:
    app = cdk.App()
    try:
        build(app)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
