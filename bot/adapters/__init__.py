"""Edges of the Slack front end: Kinesis, DynamoDB, the Slack Web API, the local outbox, the catalog file."""
