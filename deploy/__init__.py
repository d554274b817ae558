"""The AWS CDK app: `cdk synth` / `cdk deploy --all` from this folder (docs/deploy.md)."""
