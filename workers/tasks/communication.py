"""Communication job types: email (SendGrid), SMS (Twilio), push, webhooks.

SendGrid, Twilio and the push gateway take no idempotency key. The gate's
ledger row is written before the call and after it: a retried or rescued job
whose step is recorded as sent does not send again. The one window left is a
worker dying after the provider accepted and before the ledger recorded it;
the next attempt then sends again (at least once, never silently lost).
"""

from typing import Any

from procrastinate.job_context import JobContext

from app.domain.payloads import SendEmail, SendPush, SendSms, WebhookDeliver
from workers.tasks.calls import JobCalls
from workers.tasks.payload import load_payload
from workers.tasks.registry import task_body


@task_body("send-email")
async def send_email(
    context: JobContext, data: Any, meta: Any = None
) -> dict[str, Any]:
    """Send an email through SendGrid: a dynamic template with data, or subject and content.

    Retries: per the communication queue; refusals fail at once. Safe to
    retry, within the window the module describes. Defers nothing.
    """
    email = load_payload(SendEmail, data)
    calls = JobCalls(context, meta)
    request = {
        "to": str(email.to),
        "template": email.template,
        "data": email.data,
        "subject": email.subject,
        "content": email.content,
    }
    sent = await calls.call(
        "send",
        request=request,
        send=lambda _key: calls.providers.sendgrid.send(
            to=str(email.to),
            subject=email.subject,
            content=email.content,
            template_id=email.template,
            dynamic_data=email.data,
        ),
    )
    return {"messageId": sent.get("message_id"), "status": "sent"}


@task_body("send-sms")
async def send_sms(context: JobContext, data: Any, meta: Any = None) -> dict[str, Any]:
    """Send a text message through Twilio Messages (bucket `twilio-sms`).

    Retries: per the communication queue; refusals (invalid number) fail at
    once. Safe to retry, within the window the module describes. Defers nothing.
    """
    sms = load_payload(SendSms, data)
    calls = JobCalls(context, meta)
    sent = await calls.call(
        "send",
        request={"to": sms.to, "message": sms.message},
        send=lambda _key: calls.providers.twilio.send_sms(to=sms.to, body=sms.message),
    )
    return {"sid": sent.get("sid"), "status": sent.get("status")}


@task_body("send-push")
async def send_push(context: JobContext, data: Any, meta: Any = None) -> dict[str, Any]:
    """Send a push notification through the push gateway (`PUSH_URL`).

    Retries: per the communication queue. Safe to retry, within the window the
    module describes. Defers nothing.
    """
    push = load_payload(SendPush, data)
    calls = JobCalls(context, meta)
    return await calls.call(
        "send",
        request={"userId": str(push.user_id), "title": push.title, "body": push.body},
        send=lambda _key: calls.providers.push.send(
            user_id=str(push.user_id), title=push.title, body=push.body, data=push.data
        ),
    )


@task_body("webhook-deliver")
async def webhook_deliver(
    context: JobContext, data: Any, meta: Any = None
) -> dict[str, Any]:
    """POST the event to the subscriber, signed with HMAC-SHA256 and a timestamp.

    Each subscriber host has its own circuit breaker (`webhook:<host>`, named
    by `queue.breaker_name`), so one failing subscriber does not hold back
    the others. Retries: per the
    communication queue; a 4xx answer fails at once. Safe to retry:
    subscribers deduplicate by `X-Webhook-Id` (the event id). Defers nothing.
    """
    hook = load_payload(WebhookDeliver, data)
    calls = JobCalls(context, meta)
    url = str(hook.url)
    sent = await calls.call(
        "deliver",
        subject=url,
        request={"url": url, "eventId": hook.event_id, "event": hook.event},
        send=lambda _key: calls.providers.webhooks.deliver(
            url=url, event=hook.event, event_id=hook.event_id, payload=hook.payload
        ),
    )
    return {"statusCode": sent.get("status_code"), "eventId": hook.event_id}
