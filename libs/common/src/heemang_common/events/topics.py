"""Topic names: one per aggregate stream, ``heemang.<service>.<aggregate>``.

Every event of an aggregate goes on its topic keyed by household id, so consumers see one
household's events in the order they were committed.
"""

INTAKE_REFERRAL = "heemang.intake.referral"
INTAKE_HOUSEHOLD = "heemang.intake.household"
CASEWORK_CASE = "heemang.casework.case"
CASEWORK_CONFERENCE = "heemang.casework.conference"
RESOURCES_DONATION = "heemang.resources.donation"
RESOURCES_ALLOCATION = "heemang.resources.allocation"
RESOURCES_VOUCHER = "heemang.resources.voucher"
RESOURCES_CAMPAIGN = "heemang.resources.campaign"
HOTLINE_CONSULTATION = "heemang.hotline.consultation"
HOTLINE_REFERRAL = "heemang.hotline.referral"
HOTLINE_CHECKIN = "heemang.hotline.checkin"
HOTLINE_SMS = "heemang.hotline.sms"
AUDIT_ACCESS = "heemang.audit.access"

ALL_TOPICS = [
    INTAKE_REFERRAL,
    INTAKE_HOUSEHOLD,
    CASEWORK_CASE,
    CASEWORK_CONFERENCE,
    RESOURCES_DONATION,
    RESOURCES_ALLOCATION,
    RESOURCES_VOUCHER,
    RESOURCES_CAMPAIGN,
    HOTLINE_CONSULTATION,
    HOTLINE_REFERRAL,
    HOTLINE_CHECKIN,
    HOTLINE_SMS,
    AUDIT_ACCESS,
]

DLQ_SUFFIX = ".dlq"


def dlq_topic(topic: str) -> str:
    return topic + DLQ_SUFFIX
