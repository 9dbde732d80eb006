"""Sends an SMS, reads its status and shows how a refusal looks, with requests and JSON answers.

With output=json every processed request is answered HTTP 200 and the protocol code is in the
body: read it from there. Environment: SMSGW_BASE_URL (default http://127.0.0.1:8080),
SMSGW_LOGIN, SMSGW_PASSWORD, SMSGW_TO (default 79036550550), SMSGW_TEXT.
"""
import os
import sys
import uuid

import requests

BASE = os.environ.get("SMSGW_BASE_URL", "http://127.0.0.1:8080")
CREDENTIALS = {"serviceId": os.environ["SMSGW_LOGIN"], "pass": os.environ["SMSGW_PASSWORD"]}


class Refused(Exception):
    def __init__(self, code, text):
        super().__init__(f"{code} {text}")
        self.code, self.text = code, text


def call(path, **params):
    """One request; the answer's JSON when its code is 200, else Refused."""
    answer = requests.get(f"{BASE}{path}", params={**CREDENTIALS, **params, "output": "json"}, timeout=30)
    answer.raise_for_status()  # not a protocol answer (a 5xx of a proxy, a 503 of a starting instance)
    body = answer.json()
    if body["code"] != 200:
        raise Refused(body["code"], body["text"])
    return body


def main():
    # partnerMsgId makes a retry after a timeout safe: a repeat gets the first answer.
    sent = call("/send", clientId=os.environ.get("SMSGW_TO", "79036550550"),
                message=os.environ.get("SMSGW_TEXT", "Hello from Python"), partnerMsgId=str(uuid.uuid4()))
    print(f"sent: {sent['id']} ({sent['segments']} segment(s))")

    status = call("/status", transactionId=sent["id"])
    line = status["messages"][0]
    print(f"status: {line['transactionId']} {line['status']}")

    try:
        call("/send", clientId="12345", message="This one is refused")
    except Refused as e:
        # 400/414: fix the request; 401: credentials; 402/403/406/409: do not retry;
        # 408: retry later; 500: retry after a minute; 503: retry the same partnerMsgId later.
        print(f"refused: {e.code} {e.text}")
    else:
        sys.exit("expected a refusal")


if __name__ == "__main__":
    main()
