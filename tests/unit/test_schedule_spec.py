"""Cron schedules checked at the edge, before Temporal sees them."""

import pytest

from services.api.schedule_spec import MAX_CHARS, check_schedule
from services.common.errors import InvalidArgumentError


@pytest.mark.parametrize(
    "schedule",
    [
        "",
        "0 3 * * *",
        "*/15 * * * *",
        "0 9-17 * * MON-FRI",
        "0 0 1,15 JAN,JUL *",
        "30 2 * * ? 2030",  # with a year
        "0 30 2 * * * 2030",  # a leading second field and a year
        "0 0 ? * SUN",
        "@daily",
        "@hourly",
        "@annually",
        "@every 1h",
        "@every 90s",
        "@every 1h30m",
        "@every 500ms",
        "  0 3 * * *  ",
    ],
)
def test_valid_schedules_are_accepted_unchanged(schedule: str) -> None:
    assert check_schedule(schedule) == schedule


@pytest.mark.parametrize(
    "schedule",
    [
        "0 3 * *",  # 4 fields
        "0 0 3 * * * 2030 x",  # 8 fields
        "every day",
        "0 3 * * * ;rm",
        "0 3 * * MON--FRI",
        "0 3 */ * *",
        "0 3 ,1 * *",
        "@every",
        "@every 1d",
        "@every h",
        "@often",
        "   ",
    ],
)
def test_malformed_schedules_name_the_field(schedule: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        check_schedule(schedule)
    assert caught.value.field == "schedule"
    assert "cron" in caught.value.description


def test_the_caller_names_the_field() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        check_schedule("nope", field="job.schedule")
    assert caught.value.field == "job.schedule"
    assert str(caught.value).startswith("job.schedule: ")


def test_overlong_schedules_are_rejected_before_parsing() -> None:
    check_schedule("0 3 * * " + "1," * 40 + "2")
    with pytest.raises(InvalidArgumentError, match=f"at most {MAX_CHARS}") as caught:
        check_schedule("0 3 * * " + "1," * MAX_CHARS + "2")
    assert caught.value.field == "schedule"
