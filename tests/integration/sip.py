"""Just enough SIP to check the shipped softphone accounts: REGISTER with digest auth over UDP.

A softphone's first step against the lab, done the way a phone does it
(RFC 3261 REGISTER, RFC 2617/7616 MD5 digest with ``qop=auth``).
"""

# Every wait here has its own bound.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _challenge(response: str) -> dict[str, str]:
    """The MD5 ``WWW-Authenticate: Digest`` challenge's parameters."""
    for line in response.split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() == "www-authenticate" and "digest" in value.lower():
            params = dict(re.findall(r'(\w+)="?([^",]*)"?', value.split(None, 1)[1]))
            if params.get("algorithm", "MD5").upper() == "MD5":
                return params
    raise AssertionError(f"no MD5 digest challenge in:\n{response}")


def status_of(response: str) -> int:
    return int(response.split(" ", 2)[1])


class _Client(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.replies: asyncio.Queue[str] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.replies.put_nowait(data.decode(errors="replace"))


async def register(
    port: int, user: str, password: str, *, expires: int = 60, timeout: float = 5.0
) -> int:
    """REGISTER ``user`` at 127.0.0.1:``port``, answering the digest challenge; final status.

    ``expires=0`` removes the registration again, as a phone does when it signs off.
    """
    loop = asyncio.get_running_loop()
    transport, client = await loop.create_datagram_endpoint(
        _Client, local_addr=("127.0.0.1", 0), remote_addr=("127.0.0.1", port)
    )
    try:
        local_port = transport.get_extra_info("sockname")[1]
        uri = f"sip:127.0.0.1:{port}"
        call_id, tag = secrets.token_hex(8), secrets.token_hex(4)

        def request(cseq: int, authorization: str = "") -> bytes:
            branch = f"z9hG4bK{secrets.token_hex(6)}"
            lines = [
                f"REGISTER {uri} SIP/2.0",
                f"Via: SIP/2.0/UDP 127.0.0.1:{local_port};branch={branch};rport",
                "Max-Forwards: 70",
                f"From: <sip:{user}@127.0.0.1>;tag={tag}",
                f"To: <sip:{user}@127.0.0.1>",
                f"Call-ID: {call_id}@127.0.0.1",
                f"CSeq: {cseq} REGISTER",
                f"Contact: <sip:{user}@127.0.0.1:{local_port}>",
                f"Expires: {expires}",
            ]
            if authorization:
                lines.append(f"Authorization: {authorization}")
            lines += ["Content-Length: 0", "", ""]
            return "\r\n".join(lines).encode()

        async def final_reply() -> str:
            while True:  # skip requests (Asterisk's OPTIONS qualify) and provisional replies
                reply = await asyncio.wait_for(client.replies.get(), timeout)
                if reply.startswith("SIP/2.0 ") and status_of(reply) >= 200:
                    return reply

        transport.sendto(request(1))
        reply = await final_reply()
        if status_of(reply) != 401:
            return status_of(reply)
        challenge = _challenge(reply)
        realm, nonce = challenge["realm"], challenge["nonce"]
        cnonce, nc = secrets.token_hex(8), "00000001"
        ha1 = _md5(f"{user}:{realm}:{password}")
        ha2 = _md5(f"REGISTER:{uri}")
        answer = _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
        authorization = (
            f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
            f'response="{answer}", algorithm=MD5, qop=auth, nc={nc}, cnonce="{cnonce}"'
        )
        if "opaque" in challenge:
            authorization += f', opaque="{challenge["opaque"]}"'
        transport.sendto(request(2, authorization))
        return status_of(await final_reply())
    finally:
        transport.close()
