"""The pull-quota gate: reading Docker Hub's headers, admitting no more pulls than remain (with
answers coming back in any order), refusing at 0, and admitting while the quota is unknown."""

from __future__ import annotations

import asyncio
import random

import pytest

from ferry.distribution.quota import PullQuota, QuotaReading, read_quota, shared_quota
from ferry.errors import Unavailable

WINDOW = 21600


def headers(remaining: int, limit: int = 100) -> dict[str, str]:
    return {"ratelimit-limit": f"{limit};w={WINDOW}", "ratelimit-remaining": f"{remaining};w={WINDOW}"}


class FakeHub:
    """A registry's pull counter: each served pull spends one and answers what is left."""

    def __init__(self, left: int, limit: int = 100) -> None:
        self.left, self.limit = left, limit
        self.served = 0
        self.throttled = 0

    def serve(self) -> tuple[dict[str, str], int]:
        if self.left == 0:
            self.throttled += 1
            return headers(0, self.limit), 429
        self.left -= 1
        self.served += 1
        return headers(self.left, self.limit), 200


def test_headers_are_read_with_and_without_a_window() -> None:
    assert read_quota({"ratelimit-limit": "100;w=21600", "ratelimit-remaining": "76;w=21600"}) == (
        QuotaReading(limit=100, remaining=76, window_seconds=21600)
    )
    assert read_quota({"RateLimit-Limit": "200", "RateLimit-Remaining": " 3 "}) == QuotaReading(200, 3, None)
    assert read_quota({"ratelimit-limit": "100;w=3600", "ratelimit-remaining": "0"}) == QuotaReading(
        100, 0, 3600
    )
    assert read_quota({}) is None
    assert read_quota({"ratelimit-limit": "100;w=21600"}) is None
    assert read_quota({"ratelimit-limit": "many", "ratelimit-remaining": "some"}) is None


async def test_a_used_up_quota_refuses_without_a_request() -> None:
    quota = PullQuota("registry-1.docker.io")
    quota.note(quota.ticket(), headers(0), 200)

    with pytest.raises(Unavailable) as refused:
        await quota.before_pull()

    assert refused.value.status == 429
    assert "pull quota used up: 0 of 100 pulls per 6 h left" in refused.value.message
    assert "retries later" in (refused.value.hint or "")
    assert quota.in_flight == 0


async def test_an_unknown_quota_admits_a_first_pull_at_once() -> None:
    quota = PullQuota("mirror.example")

    ticket = await asyncio.wait_for(quota.before_pull(), timeout=5)

    assert quota.reading is None
    assert quota.in_flight == 1
    await quota.after_pull(ticket, headers(9), 200)
    assert quota.reading == QuotaReading(100, 9, WINDOW)


async def test_while_unknown_the_first_pull_probes_and_the_others_wait_for_its_answer() -> None:
    quota = PullQuota("registry-1.docker.io")
    hub = FakeHub(left=2)
    probe = await quota.before_pull()
    others = [asyncio.ensure_future(quota.before_pull()) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(task.done() for task in others), "nothing else goes out before the probe's answer"

    await quota.after_pull(probe, *hub.serve())  # 1 left
    await asyncio.wait(others, timeout=5, return_when=asyncio.FIRST_COMPLETED)
    for _ in range(10):  # let every woken waiter look at the estimate
        await asyncio.sleep(0)
    done = [task for task in others if task.done()]
    pending = [task for task in others if not task.done()]
    assert len(done) == 1, "one pull left: one more goes out"
    assert len(pending) == 2
    (second,) = done
    await quota.after_pull(second.result(), *hub.serve())  # 0 left
    results = await asyncio.wait_for(asyncio.gather(*pending, return_exceptions=True), timeout=5)
    assert all(isinstance(result, Unavailable) for result in results)
    assert hub.throttled == 0


async def test_a_registry_without_quota_headers_is_not_gated_after_its_first_answer() -> None:
    quota = PullQuota("registry.example")
    first = await quota.before_pull()
    await quota.after_pull(first, {"content-type": "application/json"}, 200)

    tickets = await asyncio.wait_for(asyncio.gather(*(quota.before_pull() for _ in range(20))), timeout=5)

    assert len(tickets) == 20
    assert quota.in_flight == 20


async def test_an_error_without_headers_says_nothing_about_the_quota() -> None:
    quota = PullQuota("registry-1.docker.io")
    first = await quota.before_pull()
    await quota.after_pull(first, {}, 401)  # the auth layer's answer, not the registry's

    second = await quota.before_pull()
    waiting = asyncio.ensure_future(quota.before_pull())
    await asyncio.sleep(0)
    assert not waiting.done(), "still unknown: still one probe at a time"
    await quota.after_pull(second, headers(5), 200)
    await asyncio.wait_for(waiting, timeout=5)


@pytest.mark.parametrize("seed", range(8))
async def test_concurrent_pulls_never_exceed_what_remains_whatever_order_answers_come_in(seed: int) -> None:
    """20 workers want a pull each; 5 remain. Answers come back in a random order, each saying
    what was left when it was served. Never more in flight than remain, never a 429, exactly 5
    pulls, and the other 15 refused."""
    rng = random.Random(seed)
    quota = PullQuota("registry-1.docker.io")
    hub = FakeHub(left=5)
    quota.note(quota.ticket(), headers(hub.left), 200)  # a manifest HEAD: free
    answers: asyncio.Queue[asyncio.Future[None]] = asyncio.Queue()
    admitted = most_in_flight = 0

    async def worker() -> str:
        nonlocal admitted, most_in_flight
        try:
            ticket = await quota.before_pull()
        except Unavailable:
            return "refused"
        admitted += 1
        assert admitted <= 5, "never more pulls than remained"
        most_in_flight = max(most_in_flight, quota.in_flight)
        answered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        reply_headers, status = hub.serve()  # served now, answer delivered later
        await answers.put(answered)
        await answered
        await quota.after_pull(ticket, reply_headers, status)
        return "pulled" if status == 200 else "throttled"

    async def deliver() -> None:
        held: list[asyncio.Future[None]] = []
        while True:
            while not answers.empty():
                held.append(await answers.get())
            if held:
                rng.shuffle(held)
                held.pop().set_result(None)
            await asyncio.sleep(0)

    delivering = asyncio.ensure_future(deliver())
    try:
        outcomes = await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(20))), timeout=10)
    finally:
        delivering.cancel()

    assert outcomes.count("pulled") == 5
    assert outcomes.count("refused") == 15
    assert outcomes.count("throttled") == 0
    assert hub.throttled == 0
    assert most_in_flight <= 5
    assert quota.in_flight == 0


async def test_a_stale_answer_never_raises_the_estimate() -> None:
    quota = PullQuota("registry-1.docker.io")
    quota.note(quota.ticket(), headers(2), 200)
    first = await quota.before_pull()
    second = await quota.before_pull()
    # the registry served `first` (1 left), then `second` (0 left); their answers arrive swapped
    await quota.after_pull(second, headers(0), 200)
    await quota.after_pull(first, headers(1), 200)

    assert quota.reading is not None
    assert quota.reading.remaining == 0
    with pytest.raises(Unavailable):
        await quota.before_pull()


async def test_a_stale_head_answer_never_raises_the_estimate_but_a_fresh_one_does() -> None:
    quota = PullQuota("registry-1.docker.io")
    quota.note(quota.ticket(), headers(1), 200)
    head = quota.ticket()  # a HEAD goes out and is served while 1 is left
    pull = await quota.before_pull()
    await quota.after_pull(pull, headers(0), 200)
    quota.note(head, headers(1), 200)  # ...but its answer comes back after the pull's

    assert quota.reading is not None
    assert quota.reading.remaining == 0

    quota.note(quota.ticket(), headers(40), 200)  # hours later the window gave pulls back
    assert quota.reading.remaining == 40
    ticket = await asyncio.wait_for(quota.before_pull(), timeout=5)
    await quota.after_pull(ticket, headers(39), 200)


async def test_a_pull_without_an_answer_counts_as_spent() -> None:
    quota = PullQuota("registry-1.docker.io")
    quota.note(quota.ticket(), headers(2), 200)
    lost = await quota.before_pull()
    second = await quota.before_pull()
    waiting = asyncio.ensure_future(quota.before_pull())
    await asyncio.sleep(0)
    assert not waiting.done()

    await quota.after_pull(lost, None, None)  # the connection broke: it may have been served
    await quota.after_pull(second, None, None)

    with pytest.raises(Unavailable):
        await asyncio.wait_for(waiting, timeout=5)
    assert quota.in_flight == 0


def test_clients_of_one_registry_and_account_share_one_gate() -> None:
    first = shared_quota("registry-1.docker.io", "alice")
    assert shared_quota("registry-1.docker.io", "alice") is first
    assert shared_quota("registry-1.docker.io", "bob") is not first
    assert shared_quota("registry-1.docker.io", None) is not first
    assert shared_quota("mirror.example", "alice") is not first
