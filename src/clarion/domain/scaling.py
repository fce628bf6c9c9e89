"""How a model version is scaled when it runs on a cluster: replicas and their load.

The field names follow Clarifai's ``AutoscaleConfig`` where one fits. Every value is checked
when it is made, with a message that names the field and what it allows:

    ScalingSettings(min_replicas=0, max_replicas=4, scale_to_zero_delay_seconds=300)
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from clarion.errors import InvalidParameter

#: The most replicas one model version may ask for.
MAX_REPLICAS = 64
#: The most requests one replica may run at once, and the most waiting for replicas.
MAX_ONGOING_REQUESTS = 1024
MAX_QUEUED_REQUESTS = 100_000
#: The longest delay any autoscaling setting may name (one day).
MAX_DELAY_SECONDS = 86_400


@dataclass(frozen=True)
class ScalingSettings:
    """Replica bounds and autoscaling of one model version; 0 in an optional field means
    "the model family's default" (see :meth:`with_defaults`)."""

    #: 0 lets the version scale to zero after ``scale_to_zero_delay_seconds`` without use.
    min_replicas: int = 1
    max_replicas: int = 1
    #: Ongoing requests per replica that autoscaling aims for.
    target_ongoing_requests: float = 0.0
    #: Requests one replica takes at once (at least its batch size, or an LLM's slots).
    max_ongoing_requests: int = 0
    #: Requests waiting for a replica beyond which new ones are refused with 21354.
    max_queued_requests: int = 0
    scale_up_delay_seconds: float = 0.0
    scale_down_delay_seconds: float = 60.0
    scale_to_zero_delay_seconds: float = 300.0

    def __post_init__(self) -> None:
        _bounded("min_replicas", self.min_replicas, 0, MAX_REPLICAS)
        _bounded("max_replicas", self.max_replicas, 1, MAX_REPLICAS)
        if self.min_replicas > self.max_replicas:
            raise InvalidParameter(
                f"min_replicas must be at most max_replicas ({self.max_replicas}), "
                f"got {self.min_replicas}.",
                parameter="min_replicas",
            )
        _bounded("target_ongoing_requests", self.target_ongoing_requests, 0, MAX_ONGOING_REQUESTS)
        _bounded("max_ongoing_requests", self.max_ongoing_requests, 0, MAX_ONGOING_REQUESTS)
        _bounded("max_queued_requests", self.max_queued_requests, 0, MAX_QUEUED_REQUESTS)
        for name in ("scale_up_delay_seconds", "scale_down_delay_seconds"):
            _bounded(name, getattr(self, name), 0, MAX_DELAY_SECONDS)
        _bounded(
            "scale_to_zero_delay_seconds", self.scale_to_zero_delay_seconds, 0, MAX_DELAY_SECONDS
        )

    def with_defaults(self, family: ScalingSettings) -> ScalingSettings:
        """These settings with each unset (0) load field taken from the family's defaults."""
        return ScalingSettings(
            min_replicas=self.min_replicas,
            max_replicas=self.max_replicas,
            target_ongoing_requests=self.target_ongoing_requests or family.target_ongoing_requests,
            max_ongoing_requests=self.max_ongoing_requests or family.max_ongoing_requests,
            max_queued_requests=self.max_queued_requests or family.max_queued_requests,
            scale_up_delay_seconds=self.scale_up_delay_seconds,
            scale_down_delay_seconds=self.scale_down_delay_seconds,
            scale_to_zero_delay_seconds=self.scale_to_zero_delay_seconds,
        )

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


def _bounded(name: str, value: float, low: float, high: float) -> None:
    if isinstance(value, bool) or not low <= value <= high:
        raise InvalidParameter(
            f"{name} must be between {low:g} and {high:g}, got {value!r}.", parameter=name
        )
