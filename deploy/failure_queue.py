"""The trend event source's on-failure destination: a KMS-encrypted queue whose grant names
exact actions. (`aws_lambda_event_sources.SqsDlq` calls `grant_send_messages`, which for a
KMS queue adds `kms:ReEncrypt*` and `kms:GenerateDataKey*`.)"""

from __future__ import annotations

import jsii
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs

from deploy import policies


@jsii.implements(lambda_.IEventSourceDlq)
class KeyedQueueDestination:
    def __init__(self, queue: sqs.IQueue, key: kms.IKey):
        self.queue = queue
        self.key = key

    def bind(
        self, _target: lambda_.IEventSourceMapping, target_handler: lambda_.IFunction
    ) -> lambda_.DlqDestinationConfig:
        role = target_handler.role
        if role is None:
            raise ValueError("the trend function needs a role to send its failures")
        for s in policies.send_failures(self.queue, self.key):
            role.add_to_principal_policy(s)
        return lambda_.DlqDestinationConfig(destination=self.queue.queue_arn)
