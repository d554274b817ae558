"""Trend analysis: ticks from DynamoDB Streams -> bars -> indicators -> crossover alerts."""
