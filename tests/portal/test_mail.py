import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives, send_mail

from core.mail import deserialize_message, serialize_message

pytestmark = pytest.mark.django_db


def test_mail_is_sent_only_after_the_transaction_commits(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        send_mail("Subject", "Body", None, ["a@example.cn"])
    assert mail.outbox == []  # nothing is sent while the transaction is open
    assert len(callbacks) == 1
    callbacks[0]()
    assert [m.subject for m in mail.outbox] == ["Subject"]


def test_messages_survive_the_trip_through_the_queue():
    message = EmailMultiAlternatives(
        "Hello 你好", "text", "from@example.cn", ["to@example.cn"], cc=["cc@example.cn"]
    )
    message.attach_alternative("<p>html</p>", "text/html")
    message.attach("report.csv", "a,b\n1,2\n", "text/csv")
    copy = deserialize_message(serialize_message(message))
    assert (copy.subject, copy.body, copy.to, copy.cc) == (
        "Hello 你好",
        "text",
        ["to@example.cn"],
        ["cc@example.cn"],
    )
    assert copy.alternatives[0][0] == "<p>html</p>"
    assert copy.attachments[0][0] == "report.csv"
    assert copy.attachments[0][1] in (b"a,b\n1,2\n", "a,b\n1,2\n")
