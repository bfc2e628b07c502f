"""JSON from hosts we do not control, parsed without letting them crash the collector.

`json.loads` recurses once per level of nesting. Python's recursion limit normally turns a
body like `[[[[…` into a RecursionError, but importing web3 imports py_ecc, which raises
the limit to 100,000 for the whole process: from then on a 64 KiB `/healthz` body of
brackets overflows the C stack and kills the pass (a segfault, not an exception), so no
board is published. Every answer from the fleet, GitHub or the RPC is therefore measured
before it is parsed, and anything nested deeper than any real answer is refused as
malformed (a ValueError, like any other bad JSON).
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

#: Deeper than any answer we read (GitHub's runs nest about 6 levels), far below where the
#: C parser's stack is at risk.
MAX_DEPTH = 64

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class TooDeep(ValueError):
    """JSON nested deeper than MAX_DEPTH: refused before parsing."""


def depth(data: bytes | str) -> int:
    """How deep the brackets outside strings nest (an upper bound for malformed input)."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    opens = raw.count(b"[") + raw.count(b"{")
    if opens <= MAX_DEPTH:  # the common case: no deeper than its bracket count, so safe
        return opens
    outside = _STRING.sub(b"", raw)
    steps = (_STEP[m[0]] for m in _BRACKETS.findall(outside))
    return max(accumulate(steps, initial=0))


def loads(data: bytes | str, **kwargs: Any) -> Any:
    """`json.loads`, refusing input nested deeper than MAX_DEPTH (TooDeep, a ValueError)."""
    found = depth(data)
    if found > MAX_DEPTH:
        raise TooDeep(f"nested {found} levels deep, more than any real answer ({MAX_DEPTH})")
    return json.loads(data, **kwargs)
