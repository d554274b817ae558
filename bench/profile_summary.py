"""Where a sampled process spent its CPU: py-spy's collapsed stacks summed by our buckets.

    .venv/bin/python -m bench.profile_summary PROFILE.txt [--top 25]

Samples whose innermost frame blocks (a socket read, a condition or event wait, a sleep) are
dropped: py-spy's idle detection misses them when many threads wait, and they cost no CPU.
Prints the share of the remaining samples per function (inclusive: the function or anything
it called, counted once per sample) and per bucket: the first frame from the leaf up that
matches a bucket's pattern names it (e.g. botocore's JSON serialiser inside BatchWriteItem).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

# innermost frames that wait rather than compute
IDLE = re.compile(
    r"^(SocketIO\.readinto \(socket|Condition\.wait \(threading|Event\.wait \(threading"
    r"|poll_wait_for_socket|.*drain_child\.py:\d+\)$)"
)
# first match from the leaf up names the bucket of a sample
BUCKETS = (
    ("botocore serialise", r"botocore/serialize\.py"),
    ("botocore parse", r"botocore/parsers\.py"),
    ("botocore validate", r"botocore/validate\.py"),
    ("botocore signing", r"botocore/(auth|signers)\.py"),
    ("HTTP and sockets", r"(urllib3|http/client|botocore/httpsession|socket|ssl)"),
    ("client creation (service models)", r"botocore/(loaders|session)\.py|boto3/session\.py"),
    ("botocore other (per-call hooks, endpoint rules)", r"botocore/"),
    ("polars", r"polars/"),
    ("tick decode/validate", r"common/tick\.py"),
    ("DynamoDB item codec", r"common/tables\.py"),
    ("kclpy messages", r"amazon_kclpy/"),
    ("logging", r"logging/"),
    ("lean JSON clients (signing, transport)", r"common/(json_api|sigv4|keepalive_http)\.py"),
    ("imports", r"<frozen importlib"),
)


def frames(stack: str) -> list[str]:
    return stack.split(";")


def summarise(lines: list[str], top: int) -> str:
    inclusive: Counter[str] = Counter()
    buckets: Counter[str] = Counter()
    total = idle = 0
    for line in lines:
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        if IDLE.match(frames(stack)[-1]):
            idle += count
            continue
        total += count
        names = [re.sub(r" \(.*?:\d+\)$", "", f) + f" ({_file(f)})" for f in frames(stack)]
        for name in set(names):
            inclusive[name] += count
        buckets[_bucket(frames(stack))] += count
    out = [
        f"{total} samples on CPU ({idle} waiting, dropped)",
        "",
        "bucket (first match from the leaf up):",
    ]
    out += [f"  {n / total:6.1%}  {name}" for name, n in buckets.most_common()]
    out += ["", f"top {top} functions, inclusive:"]
    out += [f"  {n / total:6.1%}  {name}" for name, n in inclusive.most_common(top)]
    return "\n".join(out)


def _file(frame: str) -> str:
    match = re.search(r"\(([^()]*?):\d+\)$", frame)
    return match.group(1) if match else "?"


def _bucket(stack: list[str]) -> str:
    for frame in reversed(stack):
        for name, pattern in BUCKETS:
            if re.search(pattern, frame):
                return name
    return "ours / other"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    print(summarise(args.profile.read_text().splitlines(), args.top))


if __name__ == "__main__":
    main()
