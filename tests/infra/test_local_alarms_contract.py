"""The local alarm evaluator watches the same alarms as the synthesized stack (names, metrics, thresholds)."""

from __future__ import annotations

import pytest

from local.alarms import COMPARISON, stack_alarms
from tests.infra.template import Synth, resources

pytestmark = pytest.mark.infra


def test_local_alarms_match_the_stacks_alarms(synth: Synth) -> None:
    deployed = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in resources(synth.raw, "AWS::CloudWatch::Alarm").values()
    }
    local = {a.name: a for a in stack_alarms()}
    assert set(local) == set(deployed)
    for name, alarm in local.items():
        props = deployed[name]
        assert (props["MetricName"], props["Namespace"]) == (
            alarm.metric.metric_name,
            alarm.metric.namespace,
        ), name
        assert props["Statistic"] == alarm.metric.statistic, name
        assert (props["Threshold"], props["ComparisonOperator"]) == (alarm.threshold, COMPARISON), name
        assert props["Period"] == alarm.period_s, name
        assert props["TreatMissingData"] == "notBreaching", name
