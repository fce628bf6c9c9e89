import pytest

from clarion.domain.scaling import ScalingSettings
from clarion.errors import InvalidParameter


def test_defaults_are_one_replica_that_scales_down_after_a_minute() -> None:
    settings = ScalingSettings()
    assert (settings.min_replicas, settings.max_replicas) == (1, 1)
    assert settings.scale_down_delay_seconds == 60.0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"min_replicas": -1}, "min_replicas must be between 0 and 64, got -1."),
        ({"max_replicas": 0}, "max_replicas must be between 1 and 64, got 0."),
        ({"min_replicas": 3, "max_replicas": 2}, "min_replicas must be at most max_replicas (2)"),
        ({"max_ongoing_requests": 5000}, "max_ongoing_requests must be between 0 and 1024"),
        ({"scale_down_delay_seconds": -0.5}, "scale_down_delay_seconds must be between 0"),
        ({"min_replicas": True}, "min_replicas must be between 0 and 64, got True."),
    ],
)
def test_out_of_range_settings_are_refused_naming_the_field(
    fields: dict[str, float], message: str
) -> None:
    with pytest.raises(InvalidParameter) as refused:
        ScalingSettings(**fields)  # type: ignore[arg-type]
    assert message in str(refused.value)


def test_unset_load_fields_come_from_the_family() -> None:
    family = ScalingSettings(
        target_ongoing_requests=8, max_ongoing_requests=32, max_queued_requests=256
    )
    mine = ScalingSettings(min_replicas=0, max_replicas=3, max_ongoing_requests=64)
    merged = mine.with_defaults(family)
    assert (merged.min_replicas, merged.max_replicas) == (0, 3)
    assert (merged.target_ongoing_requests, merged.max_ongoing_requests) == (8, 64)
    assert merged.max_queued_requests == 256
