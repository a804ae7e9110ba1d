"""Memory: the resident set of a node with 10k followers and 100k objects, after the runs.

Runs at the end of the read-path benchmark, on its node (``cityfed serve`` with its workers, one
process): after the read load, one more project is published through the API and the node's
own delivery worker sends its Create to all 10,000 followers (every one must arrive). Then the
process's RSS is read from ``/proc``. Baseline: the same process's RSS right after it started,
before any request. The peak (VmHWM) is printed too.
"""

from __future__ import annotations

from bench import common, fanout


async def measure(
    server: common.Child,
    setup: common.NodeSetup,
    sinks: fanout.Sinks,
    followers: int,
    started_rss: int,
) -> list[str]:
    sinks.pin(None)
    _, _, public_pem = await fanout.sender_key(setup.database_url, setup.handle)
    sinks.expect(followers, 150, public_pem)
    _, took = await fanout.publish(setup)
    seen = await sinks.result(within=180)
    rss = server.rss_kib()
    peak = common.read_status(server.pid, "VmHWM")
    common.say(
        f"fan-out from the node itself: {seen['received']}/{followers} delivered "
        f"({seen['duplicates']} duplicates, {seen['verified']} sampled signatures verified) "
        f"in {seen['last'] - seen['first']:.1f} s after a {took:.2f} s API call"
    )
    common.say(
        f"RSS at start {started_rss / 1024:.0f} MiB, after the runs {rss / 1024:.0f} MiB, "
        f"peak {peak / 1024:.0f} MiB"
    )
    if seen["received"] != followers:
        common.say("WARNING memory: the fan-out did not complete")
    return [common.bench_line("memory_rss", rss / 1024, "MiB", started_rss / 1024)]
