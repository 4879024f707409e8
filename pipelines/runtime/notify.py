"""When the night fails, someone hears of it: an e-mail, a webhook, or both (docs/report.md).

Configured only by environment variables (``pipelines.runtime.settings``), so no secret is ever in a file, a
run config or a log:

- e-mail: ``ROI_SMTP_HOST`` (and ``ROI_SMTP_PORT``, default 587; ``ROI_SMTP_USER`` and
  ``ROI_SMTP_PASSWORD`` when the server wants a login; ``ROI_SMTP_STARTTLS``, default on unless the
  port is 25; ``ROI_SMTP_SSL`` for port 465), ``ROI_NOTIFY_FROM`` and ``ROI_NOTIFY_TO`` (commas
  between several addresses);
- webhook: ``ROI_NOTIFY_WEBHOOK``, a URL that receives a JSON POST ``{"text": …, "warehouse": …,
  "run_id": …}`` — the shape Slack's and Teams' incoming webhooks read (``text``).

Sending uses the standard library (``smtplib``, ``urllib``). A notice that cannot be sent is
reported on standard error, never raised: it must not hide the failure it is about.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import sys
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage

from pipelines.runtime.settings import Settings, SettingsError, read_settings


@dataclass(frozen=True)
class Failure:
    """What a notice says: in plain words, which warehouse, and the run."""

    reason: str
    warehouse: str
    run_id: str
    # what is published, in words (``Warehouse.published_run``)
    published: str = ""

    @property
    def subject(self) -> str:
        return f"ROI Ledger: last night's run failed ({self.warehouse})"

    @property
    def text(self) -> str:
        return (
            "Last night's ROI Ledger run did not finish, so nothing new is published: "
            f"{self.published or f'the published warehouse {self.warehouse} is unchanged'}.\n\n"
            f"What went wrong: {self.reason}\n\n"
            f"Run {self.run_id}; its log is {self.warehouse}.run.log. Fix the cause and run it again "
            "(roi run), or wait for tonight's run."
        )


def configured(settings: Settings) -> list[str]:
    """The channels the environment sets up (``email``, ``webhook``)."""
    channels = []
    if settings.smtp_host and settings.notify_to:
        channels.append("email")
    if settings.notify_webhook:
        channels.append("webhook")
    return channels


def notify_failure(failure: Failure) -> list[str]:
    """Send the notice on every configured channel; the channels it reached."""
    try:
        settings = read_settings()
    except SettingsError as exc:
        print(f"could not send the failure notice: {exc}", file=sys.stderr)
        return []
    sent = []
    for channel, send in (("email", _email), ("webhook", _webhook)):
        if channel not in configured(settings):
            continue
        try:
            send(failure, settings)
            sent.append(channel)
        except Exception as exc:  # smtplib and urllib raise many types; the failure must still show
            print(
                f"could not send the failure notice by {channel}: {_scrub(str(exc), settings) or 'no reason given'}",
                file=sys.stderr,
            )
    return sent


def _scrub(message: str, settings: Settings) -> str:
    for secret in settings.secrets():
        message = message.replace(secret, "***")
    return message


def _email(failure: Failure, settings: Settings) -> None:
    port = settings.smtp_port
    message = EmailMessage()
    message["Subject"] = failure.subject
    message["From"] = settings.notify_from
    message["To"] = settings.notify_to
    message.set_content(failure.text)
    if settings.smtp_ssl == "1" or port == 465:
        server: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.smtp_host, port, timeout=30, context=ssl.create_default_context()
        )
    else:
        server = smtplib.SMTP(settings.smtp_host, port, timeout=30)
    starttls = (settings.smtp_starttls or ("0" if port == 25 else "1")) == "1"
    with server:
        if not isinstance(server, smtplib.SMTP_SSL) and starttls:
            server.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            server.login(settings.smtp_user, password)
        server.send_message(message)


def _webhook(failure: Failure, settings: Settings) -> None:
    body = json.dumps(
        {"text": f"{failure.subject}\n{failure.text}", "warehouse": failure.warehouse, "run_id": failure.run_id}
    ).encode()
    request = urllib.request.Request(
        settings.notify_webhook.get_secret_value(),
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        if response.status >= 300:
            raise RuntimeError(f"the webhook answered {response.status}")
