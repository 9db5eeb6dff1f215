"""The CLI's one loop over List* pages."""

from collections.abc import Iterator
from itertools import islice
from typing import Any

from services.cli.api_client import DEFAULT_TIMEOUT_S, PAGE_SIZE, list_all, paged
from veilsync.v1 import job_pb2


def _pages(*names: list[str]) -> tuple[list[str], dict[str, job_pb2.ListJobsResponse]]:
    """Pages keyed by the token that asks for them, and a log of the tokens asked for."""
    by_token = {
        ("" if i == 0 else f"t{i}"): job_pb2.ListJobsResponse(
            jobs=[job_pb2.Job(name=n) for n in page],
            next_page_token=f"t{i + 1}" if i + 1 < len(names) else "",
        )
        for i, page in enumerate(names)
    }
    return [], by_token


def test_paged_follows_tokens_until_the_last_page() -> None:
    asked, by_token = _pages(["a", "b"], [], ["c"])

    def fetch(token: str) -> job_pb2.ListJobsResponse:
        asked.append(token)
        return by_token[token]

    jobs: Iterator[job_pb2.Job] = paged(fetch, lambda page: page.jobs)
    assert [j.name for j in jobs] == ["a", "b", "c"]
    assert asked == ["", "t1", "t2"]


def test_paged_asks_for_no_page_past_an_islice_limit() -> None:
    asked, by_token = _pages(["a", "b"], ["c", "d"], ["e"])

    def fetch(token: str) -> job_pb2.ListJobsResponse:
        asked.append(token)
        return by_token[token]

    jobs: Iterator[job_pb2.Job] = paged(fetch, lambda page: page.jobs)
    assert [j.name for j in islice(jobs, 3)] == ["a", "b", "c"]
    assert asked == ["", "t1"]


def test_list_all_asks_every_page_with_the_size_and_timeout() -> None:
    _, by_token = _pages(["a"], ["b", "c"])
    asked: list[tuple[job_pb2.ListJobsRequest, Any]] = []

    def list_jobs(request: job_pb2.ListJobsRequest, timeout: float) -> job_pb2.ListJobsResponse:
        asked.append((request, timeout))
        return by_token[request.page_token]

    jobs: list[job_pb2.Job] = list_all(
        list_jobs,  # type: ignore[arg-type]  # a plain function stands in for the stub method
        job_pb2.ListJobsRequest,
        lambda page: page.jobs,
    )
    assert [j.name for j in jobs] == ["a", "b", "c"]
    assert asked == [
        (job_pb2.ListJobsRequest(page_size=PAGE_SIZE, page_token=token), DEFAULT_TIMEOUT_S)
        for token in ("", "t1")
    ]
