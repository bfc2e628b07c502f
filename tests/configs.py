"""fleet.toml texts the config tests start from."""

from __future__ import annotations

#: The smallest fleet.toml that loads: prod and test-2, nothing optional. Tests add to it
#: or replace a line in it, and their messages quote its line numbers.
GOOD = """
[fleet]
zone = "litentry.org"
zone_id = "Z09723983CFJOHAE3VC65"
region = "us-east-1"

[environments.prod]
broker_host = "broker.litentry.org"

[environments.test-2]
broker_host = "broker-test-2.litentry.org"
"""
