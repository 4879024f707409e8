"""When the night fails, someone hears of it: an e-mail, a webhook, or both (docs/report.md).

Configured only by environment variables, so no secret is ever in a file, a run config or a log:

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
import os
import smtplib
import ssl
import sys
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage


@dataclass(frozen=True)
class Failure:
    """What a notice says: in plain words, which warehouse, and the run."""

    reason: str
    warehouse: str
    run_id: str

    @property
    def subject(self) -> str:
        return f"ROI Ledger: last night's run failed ({self.warehouse})"

    @property
    def text(self) -> str:
        return (
            f"Last night's ROI Ledger run did not finish, so this morning's figures are the previous ones: "
            f"the published warehouse {self.warehouse} is unchanged.\n\n"
            f"What went wrong: {self.reason}\n\n"
            f"Run {self.run_id}; its log is {self.warehouse}.run.log. Fix the cause and run it again "
            "(roi run), or wait for tonight's run."
        )


def configured() -> list[str]:
    """The channels the environment sets up (``email``, ``webhook``)."""
    channels = []
    if os.environ.get("ROI_SMTP_HOST") and os.environ.get("ROI_NOTIFY_TO"):
        channels.append("email")
    if os.environ.get("ROI_NOTIFY_WEBHOOK"):
        channels.append("webhook")
    return channels


def notify_failure(failure: Failure) -> list[str]:
    """Send the notice on every configured channel; the channels it reached."""
    sent = []
    for channel, send in (("email", _email), ("webhook", _webhook)):
        if channel not in configured():
            continue
        try:
            send(failure)
            sent.append(channel)
        except Exception as exc:  # smtplib and urllib raise many types; the failure must still show
            print(
                f"could not send the failure notice by {channel}: {type(exc).__name__}: {_scrub(str(exc))}",
                file=sys.stderr,
            )
    return sent


def _scrub(message: str) -> str:
    for name in ("ROI_SMTP_PASSWORD", "ROI_NOTIFY_WEBHOOK"):
        secret = os.environ.get(name)
        if secret:
            message = message.replace(secret, "***")
    return message


def _email(failure: Failure) -> None:
    env = os.environ
    port = int(env.get("ROI_SMTP_PORT", "587"))
    message = EmailMessage()
    message["Subject"] = failure.subject
    message["From"] = env.get("ROI_NOTIFY_FROM", "roi-ledger@localhost")
    message["To"] = env["ROI_NOTIFY_TO"]
    message.set_content(failure.text)
    if env.get("ROI_SMTP_SSL", "") == "1" or port == 465:
        server: smtplib.SMTP = smtplib.SMTP_SSL(
            env["ROI_SMTP_HOST"], port, timeout=30, context=ssl.create_default_context()
        )
    else:
        server = smtplib.SMTP(env["ROI_SMTP_HOST"], port, timeout=30)
    with server:
        if not isinstance(server, smtplib.SMTP_SSL) and env.get("ROI_SMTP_STARTTLS", "0" if port == 25 else "1") == "1":
            server.starttls(context=ssl.create_default_context())
        if env.get("ROI_SMTP_USER"):
            server.login(env["ROI_SMTP_USER"], env.get("ROI_SMTP_PASSWORD", ""))
        server.send_message(message)


def _webhook(failure: Failure) -> None:
    body = json.dumps(
        {"text": f"{failure.subject}\n{failure.text}", "warehouse": failure.warehouse, "run_id": failure.run_id}
    ).encode()
    request = urllib.request.Request(
        os.environ["ROI_NOTIFY_WEBHOOK"], data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        if response.status >= 300:
            raise RuntimeError(f"the webhook answered {response.status}")
