"""The clock of a recorded server: it runs with real time, some way behind ours, in whole
seconds, as a server's own clock does; a fake may also move it on (each event it makes takes
a second, so two events never share a time)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


class RunningClock:
    """A descriptor: ``fake.clock`` reads the server's time now; assigning it (``fake.clock +=
    timedelta(minutes=2)``) sets how far the server's clock is from ours from then on."""

    def __get__(self, fake, owner=None) -> datetime:
        return _now() - fake._behind

    def __set__(self, fake, value: datetime) -> None:
        fake._behind = _now() - value.replace(microsecond=0)
