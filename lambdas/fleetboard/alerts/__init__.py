"""Alerts: the board's changes as a few messages, each once, with the next action.

- model.py: what a message is (`Alert`) and what the alerting remembers (`AlertState`);
- decide.py: pure, (previous state, this pass's board, settings, now) -> (alerts, state);
- message.py: an alert as each channel's body (Slack-compatible JSON, the generic JSON
  under schema/alert.schema.json, an SNS subject and text);
- deliver.py: the edge that sends the bodies (a webhook, the stack's SNS topic) and never
  fails the pass.

The settings are `inventory.AlertSettings` ([alerts] in fleet.toml, config/alerts.py).
"""
