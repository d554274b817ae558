from tests.aws_fixtures import aws_env, emulator_endpoint, kinesis, resources, settings

__all__ = ["aws_env", "emulator_endpoint", "kinesis", "resources", "settings"]
