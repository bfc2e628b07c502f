"""The webhook URL's secret parts the delivery tests plant, and look for everywhere after."""

from __future__ import annotations

#: The parts of a webhook URL that are the credential: a token in its path and its query.
PATH_TOKEN = "PlantedHookToken9Xc4Vb7"
QUERY_TOKEN = "PlantedQueryKey7Lm2Qw8"
SECRET_PATH = f"/services/T0ALERTS/B0ALERTS/{PATH_TOKEN}?sig={QUERY_TOKEN}"
#: Each must be absent from every detail, log record and exception text.
SECRETS = (PATH_TOKEN, QUERY_TOKEN, "T0ALERTS")
