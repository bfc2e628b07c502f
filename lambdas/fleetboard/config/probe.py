"""[probe] and [thresholds]: how hosts are asked, and when an answer turns amber or red."""

from __future__ import annotations

import os
import ssl
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fleetboard.config.fields import overlay
from fleetboard.config.messages import Problems, cap, show
from fleetboard.inventory import ProbeSettings, Thresholds

#: A CA bundle larger than this is not one (Mozilla's whole bundle is about 220 KB).
MAX_CA_BUNDLE_BYTES = 4 * 1024 * 1024


def probe_settings(raw: Mapping[str, Any], base_dir: Path, problems: Problems) -> ProbeSettings:
    ca_bundle = _ca_bundle(raw["ca_bundle"], base_dir, problems) if "ca_bundle" in raw else None
    return overlay(
        ProbeSettings(ca_bundle=ca_bundle),
        raw,
        "connect_timeout_s",
        "read_timeout_s",
        "retry_delay_s",
        "concurrency",
        "body_cap_bytes",
        "pass_deadline_s",
        "workers",
    )


def _ca_bundle(text: str, base_dir: Path, problems: Problems) -> Path | None:
    """probe.ca_bundle: a readable file holding at least one PEM certificate, read the way
    the TLS probe will read it (ssl's load_verify_locations)."""
    where, shown = "probe.ca_bundle", show(text)
    try:
        path = (base_dir / text).resolve()
        with path.open("rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                problems.add(where, f"{shown}: not a file")
                return None
            data = f.read(MAX_CA_BUNDLE_BYTES + 1)
    except FileNotFoundError:
        problems.add(where, f"{shown}: no such file")
        return None
    except (OSError, ValueError, RuntimeError) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
        problems.add(where, f"{shown}: cannot be read ({cap(why)})")
        return None
    if len(data) > MAX_CA_BUNDLE_BYTES:
        problems.add(
            where, f"{shown}: larger than {MAX_CA_BUNDLE_BYTES // 1024**2} MiB; not a CA bundle"
        )
        return None
    if b"-----BEGIN CERTIFICATE-----" not in data:
        problems.add(
            where,
            f"{shown}: holds no PEM certificate (-----BEGIN CERTIFICATE-----); the TLS probe "
            "trusts the CA certificates in this file",
        )
        return None
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=data.decode("ascii"))
    except (ssl.SSLError, UnicodeDecodeError, ValueError) as exc:
        problems.add(where, f"{shown}: not a PEM bundle the TLS probe can load ({cap(str(exc))})")
        return None
    return path


def thresholds(raw: Mapping[str, Any], problems: Problems) -> Thresholds:
    t = overlay(
        Thresholds(),
        raw,
        "tls_amber_days",
        "tls_red_days",
        "slow_ms",
        "flap_changes",
        "flap_passes",
        "cpu_credits_floor",
        "memory_pct",
        "disk_pct",
        "idle_hours",
    )
    if t.flap_changes >= t.flap_passes:
        problems.add(
            "thresholds.flap_changes",
            f"{t.flap_changes} is not fewer than flap_passes ({t.flap_passes}); a check can "
            "change at most once a pass, so it could never be flapping",
        )
    if t.tls_red_days > t.tls_amber_days:
        problems.add(
            "thresholds.tls_red_days",
            f"{t.tls_red_days} is more than tls_amber_days ({t.tls_amber_days}); "
            "red must come at fewer days left than amber",
        )
    return t
