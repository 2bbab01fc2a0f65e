"""Secure builders, one per resource type: every default of the library lives here once.

Private to the library: pattern constructs build their resources through these
functions, never with raw L2 defaults, so a default changes in one place.
"""

from .alarms import (
    alarm,
    dead_letter_queue_alarm,
    function_errors_alarm,
    function_throttles_alarm,
    rule_failed_invocations_alarm,
)
from .buckets import access_log_bucket, enable_event_bridge_notifications, secure_bucket
from .compliance import acknowledge
from .event_targets import (
    DeliveredThroughRuleRole,
    TargetRetryPolicy,
    state_machine_target,
    target_dead_letter_queue,
    topic_target,
)
from .feature_flags import require_feature_flags
from .functions import PythonFunction, python_function
from .keys import grant_create_grant_for_aws_resources, secure_key
from .logs import log_group
from .networks import literal_cidr, private_vpc
from .queues import (
    QueueWithDeadLetterQueue,
    dead_letter_queue_for_service,
    minimum_visibility_timeout,
    queue_with_dead_letter_queue,
)
from .removal import DESTROY_ON_REMOVAL_CONTEXT_KEY, destroy_on_removal, stateful_removal_policy
from .repositories import secure_repository
from .state_machines import observable_state_machine
from .subscriptions import subscribe_queue
from .tables import secure_table
from .topics import secure_topic
from .validation import ProblemCollector, is_unresolved

__all__ = [
    "DESTROY_ON_REMOVAL_CONTEXT_KEY",
    "DeliveredThroughRuleRole",
    "ProblemCollector",
    "PythonFunction",
    "QueueWithDeadLetterQueue",
    "TargetRetryPolicy",
    "access_log_bucket",
    "acknowledge",
    "alarm",
    "dead_letter_queue_alarm",
    "dead_letter_queue_for_service",
    "destroy_on_removal",
    "enable_event_bridge_notifications",
    "function_errors_alarm",
    "function_throttles_alarm",
    "grant_create_grant_for_aws_resources",
    "is_unresolved",
    "literal_cidr",
    "log_group",
    "minimum_visibility_timeout",
    "observable_state_machine",
    "private_vpc",
    "python_function",
    "queue_with_dead_letter_queue",
    "require_feature_flags",
    "rule_failed_invocations_alarm",
    "secure_bucket",
    "secure_key",
    "secure_repository",
    "secure_table",
    "secure_topic",
    "state_machine_target",
    "stateful_removal_policy",
    "subscribe_queue",
    "target_dead_letter_queue",
    "topic_target",
]
