"""Keep the local stack's S3 history across `stockpipe up` restarts.

The emulator holds everything in memory. On a clean stop `stockpipe up` copies the bucket's
history and dead letters into its state folder, and puts them back after the next start,
so `stockpipe query` still finds them. The stream, the tables and queued alerts are not kept.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from common.layout import HISTORY_PREFIXES
from stockpipe.inventory import keys

log = logging.getLogger(__name__)


def inside(folder: Path, key: str) -> Path | None:
    """`folder / key` if it stays inside `folder`, else None (a `..` key, an absolute key).

    The emulator has no authentication, so anything on the machine (a web page too) can
    put objects with hostile keys into the bucket; they must not write outside the folder.
    """
    root = folder.resolve()
    target = (root / key).resolve()
    return target if target != root and target.is_relative_to(root) else None


def save(s3: Any, bucket: str, folder: Path) -> int:
    """Copy history objects to `folder` (replacing what was there); returns how many."""
    saved = 0
    for prefix in HISTORY_PREFIXES:
        for key in keys(s3, bucket, prefix):
            target = inside(folder, key)
            if target is None:
                log.warning("not saving s3://%s/%r: the key leads outside %s", bucket, key, folder)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            saved += 1
    log.info("saved %d history object(s) to %s", saved, folder)
    return saved


def restore(s3: Any, bucket: str, folder: Path) -> int:
    """Put saved history objects back under their keys; returns how many.

    Only regular files under the history prefixes are restored; a link that leads out of
    the folder is skipped and logged.
    """
    restored = 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        key = path.relative_to(folder).as_posix()
        if inside(folder, key) is None or not key.startswith(HISTORY_PREFIXES):
            log.warning("not restoring %s: it is not a history object inside %s", path, folder)
            continue
        s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
        restored += 1
    if restored:
        log.info("restored %d history object(s) from %s", restored, folder)
    return restored
