"""Pure logic of the Slack front end: intake parsing, agent actions, notifications. No boto3, no Slack client."""
