"""NotificationFanOut: a KMS-encrypted SNS topic, its subscribers, an archive, workflows.

::

    publishers (EventBridge rules, your code) --HTTPS only--> topic (KMS CMK; standard
    or FIFO)
      -> SQS queues (raw delivery, filter on attributes or body, DLQ per subscription)
      -> Lambda functions, e-mail addresses (DLQ per subscription)
      -> archive: Firehose -> S3 (standard topics) or SNS message archiving (FIFO
         topics), for durability and replay
      -> workflows: SQS queue (+ DLQ) -> EventBridge Pipe (filter, enrichment)
         -> Step Functions execution

Replay: a FIFO topic replays from its archive through a subscription's
``ReplayPolicy``; the S3 archive of a standard topic holds each notification's raw
message, one JSON document per line in GZIP files, to be re-published with your tool of
choice.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from analytics_orchestration.constructs._foundation import (
    ProblemCollector,
    access_log_bucket,
    dead_letter_queue_alarm,
    queue_with_dead_letter_queue,
    require_feature_flags,
    secure_bucket,
    secure_key,
    secure_topic,
    subscribe_queue,
)
from analytics_orchestration.constructs._foundation.alarms import (
    topic_notifications_failed_alarm,
)
from analytics_orchestration.constructs._foundation.delivery_streams import (
    archive_delivery_stream,
)
from analytics_orchestration.constructs._foundation.subscriptions import (
    subscribe_delivery_stream,
    subscribe_email,
    subscribe_function,
    subscriber_key,
)

from .._foundation.validation import Text, is_unresolved, validated_props
from .pipe import PipeEnrichment, QueueToStateMachinePipe, check_filter_patterns

__all__ = ["NotificationFanOut", "TopicSubscription", "WorkflowSubscription"]

DEFAULT_ARCHIVE_PREFIX = "notifications/"
DEFAULT_FIFO_ARCHIVE_RETENTION_DAYS = 365
#: Visibility timeout of a workflow queue: 6 x a 1-minute enrichment.
WORKFLOW_QUEUE_VISIBILITY_TIMEOUT = Duration.minutes(6)
METRIC_PERIOD = Duration.minutes(5)

_Filters = Mapping[str, sns.SubscriptionFilter]
_BodyFilters = Mapping[str, sns.FilterOrPolicy]


# The address's shape is checked by the fan-out, with its other problems.
@validated_props(factories={"email": {"address": Text(max_length=254)}})
class TopicSubscription(abc.ABC):
    """A subscriber of a :class:`NotificationFanOut`; build one with a factory method.

    Filters: ``filter_policy`` matches message attributes, ``filter_policy_with_message_body``
    the JSON body; give at most one. Without either, every notification is delivered.
    """

    def __init__(self, filter_policy: _Filters | None,
                 filter_policy_with_message_body: _BodyFilters | None) -> None:
        self.filter_policy = filter_policy
        self.filter_policy_with_message_body = filter_policy_with_message_body

    @classmethod
    def queue(cls, queue: sqs.IQueue, *, filter_policy: _Filters | None = None,
              filter_policy_with_message_body: _BodyFilters | None = None
              ) -> TopicSubscription:
        """Deliver the raw message to ``queue`` (a KMS queue's key must allow SNS)."""
        return _QueueSubscription(queue, filter_policy, filter_policy_with_message_body)

    @classmethod
    def function(cls, function: lambda_.IFunction, *, filter_policy: _Filters | None = None,
                 filter_policy_with_message_body: _BodyFilters | None = None
                 ) -> TopicSubscription:
        """Invoke ``function`` asynchronously with each notification."""
        return _FunctionSubscription(function, filter_policy, filter_policy_with_message_body)

    @classmethod
    def email(cls, address: str, *, filter_policy: _Filters | None = None,
              filter_policy_with_message_body: _BodyFilters | None = None
              ) -> TopicSubscription:
        """E-mail each notification to ``address`` (its owner confirms the subscription)."""
        return _EmailSubscription(address, filter_policy, filter_policy_with_message_body)

    @abc.abstractmethod
    def subscribe(self, scope: Construct, construct_id: str, topic: sns.ITopic) -> sqs.Queue:
        """Subscribe to ``topic``; return the subscription's dead-letter queue."""

    def problems(self, *, fifo: bool) -> list[str]:
        """What makes this subscription unusable, in words."""
        found = []
        if self.filter_policy and self.filter_policy_with_message_body:
            found.append("give filter_policy or filter_policy_with_message_body, not both "
                         "(SNS applies one filter scope per subscription)")
        if fifo and not isinstance(self, _QueueSubscription):
            found.append("SNS FIFO topics deliver only to SQS queues")
        return found


class _QueueSubscription(TopicSubscription):
    def __init__(self, queue: sqs.IQueue, filter_policy: _Filters | None,
                 body: _BodyFilters | None) -> None:
        super().__init__(filter_policy, body)
        self._queue = queue

    def subscribe(self, scope: Construct, construct_id: str, topic: sns.ITopic) -> sqs.Queue:
        return subscribe_queue(
            scope, construct_id, topic=topic, queue=self._queue,
            filter_policy=self.filter_policy,
            filter_policy_with_message_body=self.filter_policy_with_message_body,
        )


class _FunctionSubscription(TopicSubscription):
    def __init__(self, function: lambda_.IFunction, filter_policy: _Filters | None,
                 body: _BodyFilters | None) -> None:
        super().__init__(filter_policy, body)
        self._function = function

    def subscribe(self, scope: Construct, construct_id: str, topic: sns.ITopic) -> sqs.Queue:
        return subscribe_function(
            scope, construct_id, topic=topic, function=self._function,
            filter_policy=self.filter_policy,
            filter_policy_with_message_body=self.filter_policy_with_message_body,
        )


class _EmailSubscription(TopicSubscription):
    def __init__(self, address: str, filter_policy: _Filters | None,
                 body: _BodyFilters | None) -> None:
        super().__init__(filter_policy, body)
        self.address = address

    def subscribe(self, scope: Construct, construct_id: str, topic: sns.ITopic) -> sqs.Queue:
        return subscribe_email(
            scope, construct_id, topic=topic, address=self.address,
            filter_policy=self.filter_policy,
            filter_policy_with_message_body=self.filter_policy_with_message_body,
        )

    def problems(self, *, fifo: bool) -> list[str]:
        found = super().problems(fifo=fifo)
        local, _, domain = self.address.partition("@")
        if not is_unresolved(self.address) and (not local or "." not in domain):
            found.append(f"{self.address!r} is not an e-mail address")
        return found


@validated_props()
@dataclass(frozen=True)
class WorkflowSubscription:
    """Notifications that start a Step Functions workflow, through SQS and a Pipe.

    The fan-out creates a queue (with its DLQ) subscribed to the topic with raw delivery,
    and a :class:`~.pipe.QueueToStateMachinePipe` from it to ``state_machine``.

    :param state_machine: the workflow.
    :param filter_policy: SNS filter on message attributes. Default: None.
    :param filter_policy_with_message_body: SNS filter on the JSON body. Default: None.
    :param pipe_filter_patterns: the pipe's filters on the SQS record. Default: none.
    :param enrichment: the pipe's enrichment step. Default: None.
    :param batch_size: messages per execution. Default: 1.
    """

    state_machine: sfn.IStateMachine
    filter_policy: _Filters | None = None
    filter_policy_with_message_body: _BodyFilters | None = None
    pipe_filter_patterns: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    enrichment: PipeEnrichment | None = None
    batch_size: int = 1


@validated_props()
class NotificationFanOut(Construct):
    """An encrypted SNS topic fanning notifications out to queues, functions, people and
    workflows, with an archive.

    :param encryption_key: encrypts the topic, the archive and the workflow pipes' logs.
        Default: None, a rotating key is created.
    :param fifo: a FIFO topic (ordered, deduplicated; delivers to SQS queues only).
        Default: False.
    :param content_based_deduplication: FIFO only: deduplicate on a hash of the body.
        Default: False.
    :param display_name: the topic's display name (e-mail sender name). Default: None.
    :param publishing_services: service principals (e.g. ``s3.amazonaws.com``) that
        publish to the topic: each may publish and use its key for this account's resources
        only (``aws:SourceAccount``). Default: none. EventBridge rules of the library
        (``RouteTarget.topic``) need no entry: they publish through a role of their own.
    :param subscriptions: queue, function and e-mail subscribers. Default: none.
    :param workflows: state machines started through SQS + Pipes. Default: none.
    :param enable_archive: keep every notification for durability and replay: a Firehose
        stream into S3 for a standard topic, SNS message archiving for a FIFO topic.
        Default: True.
    :param archive_bucket: standard topics only: the bucket the archive stream writes to.
        Default: None, a secure bucket (KMS, versioned, access-logged) is created.
    :param archive_prefix: standard topics only: key prefix of the archive files.
        Default: ``notifications/``.
    :param fifo_archive_retention_days: FIFO topics only: days SNS keeps archived
        messages (1-365). Default: None, 365 days.
    :param alarm_topic: where the alarms notify. Default: None, alarms without actions.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey | None = None,
        fifo: bool = False,
        content_based_deduplication: bool = False,
        display_name: str | None = None,
        publishing_services: Sequence[str] = (),
        subscriptions: Sequence[TopicSubscription] = (),
        workflows: Sequence[WorkflowSubscription] = (),
        enable_archive: bool = True,
        archive_bucket: s3.IBucket | None = None,
        archive_prefix: str | None = None,
        fifo_archive_retention_days: int | None = None,
        alarm_topic: sns.ITopic | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        require_feature_flags(self)
        self.fifo = fifo
        self._alarm_topic = alarm_topic
        self._check_props(
            fifo=fifo, content_based_deduplication=content_based_deduplication,
            display_name=display_name, publishing_services=publishing_services,
            subscriptions=subscriptions, workflows=workflows, enable_archive=enable_archive,
            archive_bucket=archive_bucket, archive_prefix=archive_prefix,
            fifo_archive_retention_days=fifo_archive_retention_days,
        )
        #: The key of the topic (and archive, and pipe logs).
        self.encryption_key: kms.IKey = encryption_key or secure_key(
            self, "Key", description=f"Encrypts the notifications of {self.node.path}"
        )
        retention = (fifo_archive_retention_days or DEFAULT_FIFO_ARCHIVE_RETENTION_DAYS
                     if fifo and enable_archive else None)
        #: The topic.
        self.topic: sns.Topic = self._create_topic(
            fifo=fifo, content_based_deduplication=content_based_deduplication,
            display_name=display_name, publishing_services=tuple(publishing_services),
            archive_retention_days=retention,
        )
        #: Every dead-letter queue (one per subscription, and the workflow queues').
        self.dead_letter_queues: list[sqs.IQueue] = []
        #: Every alarm.
        self.alarms: list[cloudwatch.Alarm] = []
        #: The S3 archive (standard topics with the archive on), else None.
        self.archive_bucket: s3.IBucket | None = None
        #: The Firehose stream writing the archive, else None.
        self.archive_stream: firehose.DeliveryStream | None = None
        #: The queue feeding each workflow's pipe, in ``workflows`` order.
        self.workflow_queues: list[sqs.Queue] = []
        #: Each workflow's pipe, in ``workflows`` order.
        self.workflow_pipes: list[QueueToStateMachinePipe] = []

        for index, subscription in enumerate(subscriptions):
            self.dead_letter_queues.append(
                subscription.subscribe(self, f"Subscription{index}", self.topic))
        if enable_archive and not fifo:
            self._build_archive(archive_bucket, archive_prefix or DEFAULT_ARCHIVE_PREFIX)
        for index, workflow in enumerate(workflows):
            self._build_workflow(index, workflow)
        self._build_alarms()

    # ----------------------------------------------------------------- public API

    def grant_publish(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to publish (and to use the topic's key)."""
        return self.topic.grant_publish(grantee)

    def metric_notifications_failed(
        self, *, period: Duration = METRIC_PERIOD, statistic: str = "Sum"
    ) -> cloudwatch.Metric:
        """Notifications SNS could not deliver (``NumberOfNotificationsFailed``)."""
        return self.topic.metric_number_of_notifications_failed(
            period=period, statistic=statistic)

    def metric_messages_published(
        self, *, period: Duration = METRIC_PERIOD, statistic: str = "Sum"
    ) -> cloudwatch.Metric:
        """Messages published to the topic (``NumberOfMessagesPublished``)."""
        return self.topic.metric_number_of_messages_published(
            period=period, statistic=statistic)

    # ----------------------------------------------------------------- extension points

    def _create_topic(
        self, *, fifo: bool, content_based_deduplication: bool, display_name: str | None,
        publishing_services: tuple[str, ...], archive_retention_days: int | None,
    ) -> sns.Topic:
        """Create the topic; override to change how it is built."""
        topic = secure_topic(
            self, "Topic", master_key=self.encryption_key, publishers=publishing_services,
            fifo=fifo, display_name=display_name,
            message_retention_period_in_days=archive_retention_days,
        )
        if content_based_deduplication:
            cfn_topic = topic.node.default_child
            assert isinstance(cfn_topic, sns.CfnTopic)
            cfn_topic.content_based_deduplication = True
        return topic

    def _workflow_queue(self, index: int) -> sqs.Queue:
        """The queue between the topic and workflow ``index``'s pipe; override to tune it."""
        built = queue_with_dead_letter_queue(
            self, f"Workflow{index}Queue", visibility_timeout=WORKFLOW_QUEUE_VISIBILITY_TIMEOUT,
            fifo=self.fifo, encryption_key=subscriber_key(self, self.topic),
        )
        self.dead_letter_queues.append(built.dead_letter_queue)
        return built.queue

    # ----------------------------------------------------------------- building

    def _build_archive(self, bucket: s3.IBucket | None, prefix: str) -> None:
        self.archive_bucket = bucket or secure_bucket(
            self, "ArchiveBucket",
            server_access_logs_bucket=access_log_bucket(self, "ArchiveAccessLogs"),
            server_access_logs_prefix="archive/",
            encryption_key=self.encryption_key,
        )
        self.archive_stream = archive_delivery_stream(
            self, "ArchiveStream", bucket=self.archive_bucket,
            encryption_key=self.encryption_key, prefix=prefix,
        )
        self.dead_letter_queues.append(subscribe_delivery_stream(
            self, "ArchiveSubscription", topic=self.topic, delivery_stream=self.archive_stream,
        ))

    def _build_workflow(self, index: int, workflow: WorkflowSubscription) -> None:
        queue = self._workflow_queue(index)
        self.workflow_queues.append(queue)
        self.dead_letter_queues.append(subscribe_queue(
            self, f"Workflow{index}Subscription", topic=self.topic, queue=queue,
            filter_policy=workflow.filter_policy,
            filter_policy_with_message_body=workflow.filter_policy_with_message_body,
        ))
        pipe = QueueToStateMachinePipe(
            self, f"Workflow{index}Pipe", queue=queue, state_machine=workflow.state_machine,
            filter_patterns=workflow.pipe_filter_patterns, enrichment=workflow.enrichment,
            batch_size=workflow.batch_size, log_encryption_key=self.encryption_key,
            alarm_topic=self._alarm_topic,
        )
        self.workflow_pipes.append(pipe)
        self.alarms.extend(pipe.alarms)

    def _build_alarms(self) -> None:
        topic = self._alarm_topic
        self.alarms.append(topic_notifications_failed_alarm(
            self, "NotificationsFailedAlarm", topic=self.topic, alarm_topic=topic))
        for queue in self.dead_letter_queues:
            self.alarms.append(dead_letter_queue_alarm(
                self, f"{queue.node.id}Alarm", queue=queue, what=queue.node.path,
                alarm_topic=topic))

    def _check_props(
        self,
        *,
        fifo: bool,
        content_based_deduplication: bool,
        display_name: str | None,
        publishing_services: Sequence[str],
        subscriptions: Sequence[TopicSubscription],
        workflows: Sequence[WorkflowSubscription],
        enable_archive: bool,
        archive_bucket: s3.IBucket | None,
        archive_prefix: str | None,
        fifo_archive_retention_days: int | None,
    ) -> None:
        problems = ProblemCollector(f"NotificationFanOut {self.node.path}")
        if not fifo:
            problems.check(not content_based_deduplication, "content_based_deduplication",
                           True, "only applies to FIFO topics (fifo=True)")
            problems.check(fifo_archive_retention_days is None, "fifo_archive_retention_days",
                           fifo_archive_retention_days, "only applies to FIFO topics")
        else:
            problems.check(archive_bucket is None, "archive_bucket", "a bucket",
                           "FIFO topics archive in SNS itself; drop archive_bucket")
            problems.check(archive_prefix is None, "archive_prefix", archive_prefix,
                           "FIFO topics archive in SNS itself; drop archive_prefix")
            if fifo_archive_retention_days is not None:
                problems.check(1 <= fifo_archive_retention_days <= 365,
                               "fifo_archive_retention_days", fifo_archive_retention_days,
                               "must be 1 to 365 days")
        if not enable_archive:
            for prop, value in (("archive_bucket", archive_bucket),
                                ("archive_prefix", archive_prefix),
                                ("fifo_archive_retention_days", fifo_archive_retention_days)):
                problems.check(value is None, prop, "a value",
                               "only applies with enable_archive=True")
        if archive_prefix is not None:
            problems.check(bool(archive_prefix) and archive_prefix.endswith("/")
                           and not archive_prefix.startswith("/"), "archive_prefix",
                           archive_prefix, "must be a non-empty prefix ending in '/', "
                           "not starting with '/'")
        if display_name is not None:
            problems.check(len(display_name) <= 100, "display_name", display_name,
                           "at most 100 characters")
        for service in publishing_services:
            problems.check(service.endswith(".amazonaws.com"), "publishing_services",
                           service, "service principals, e.g. 's3.amazonaws.com'")
            problems.check(service != "events.amazonaws.com", "publishing_services", service,
                           "not EventBridge: a topic policy cannot condition it, so rules "
                           "publish through their own role (RouteTarget.topic)")
        for index, subscription in enumerate(subscriptions):
            for problem in subscription.problems(fifo=fifo):
                problems.add(f"subscriptions[{index}]", type(subscription).__name__.lstrip("_"),
                             problem)
        for index, workflow in enumerate(workflows):
            problems.check(
                not (workflow.filter_policy and workflow.filter_policy_with_message_body),
                f"workflows[{index}]", "two filter policies",
                "give filter_policy or filter_policy_with_message_body, not both")
            problems.check(1 <= workflow.batch_size <= 10, f"workflows[{index}].batch_size",
                           workflow.batch_size, "must be 1 to 10")
            # The pipe's own rules, named after this prop and before anything is built.
            check_filter_patterns(problems, f"workflows[{index}].pipe_filter_patterns",
                                  workflow.pipe_filter_patterns)
        problems.raise_if_any()
