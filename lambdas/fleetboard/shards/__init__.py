"""A pass split over shards: past what one collector probes by its deadline.

The probing is what grows with the fleet (a TLS handshake per host); AWS's listings, CI
and the chain are a few requests whatever its size. So a sharded pass splits only the
probing: each shard runs the aws, http and tls sources over its share of the environments
(plan.py) and saves what they saw as one state object (run.py, in the wire form of
codec.py); then one merge runs an ordinary pass whose http and tls sources read those
objects instead of probing (merge.py), so the rules, the snapshot and the page are the
ones a single collector makes. A shard that failed, timed out or left an object of another
pass makes its environments' probes unknown ("collector"), never missing and never red.

On AWS the shards are invocations of the same function in a Step Functions Map (infra/
shards.py, `[deploy] shards`); on a laptop and in the bench they are processes (local.py).
"""

from fleetboard.shards.merge import failures_from, merge_pass
from fleetboard.shards.plan import split
from fleetboard.shards.run import ShardReport, run_shard

__all__ = ["ShardReport", "failures_from", "merge_pass", "run_shard", "split"]
