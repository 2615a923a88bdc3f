"""The benchmark's progress messages, on stderr so that its tables stay clean on stdout."""

import sys


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)
