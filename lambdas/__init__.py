"""Layer 1: AWS Lambda handlers (the trend-analysis handler fed by DynamoDB Streams)."""
