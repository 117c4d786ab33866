"""T4 (registration side): private, loopback, link-local and odd URLs are refused before any
connection; names are judged by every address they resolve to (stub resolver)."""

from __future__ import annotations

import pytest

from heemang_gateway.webhooks.ssrf import UnsafeTarget, address_is_public, check_target

REFUSED_URLS = [
    "http://127.0.0.1/hook",
    "http://127.8.9.10:8080/hook",
    "http://10.0.0.5/hook",
    "http://172.16.0.1/hook",
    "http://172.31.255.254/hook",
    "http://192.168.1.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://0.0.0.0/",
    "http://100.64.0.1/",  # carrier-grade NAT
    "http://224.0.0.1/",  # multicast
    "http://[::1]/hook",
    "http://[::]/hook",
    "http://[fc00::1]/hook",  # unique-local
    "http://[fd12:3456::1]/hook",
    "http://[fe80::1]/hook",  # link-local
    "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped loopback
    "http://[::ffff:169.254.169.254]/",
    "http://[2002:7f00:1::1]/",  # 6to4 wrapping 127.0.0.1
    "http://localhost/hook",  # resolves to loopback (stub)
    "http://2130706433/hook",  # decimal 127.0.0.1, as getaddrinfo reads it (stub)
    "http://rebind.example/hook",  # one public, one private answer
    "http://nowhere.example/hook",  # does not resolve
    "file:///etc/passwd",
    "ftp://partner.example/hook",
    "gopher://partner.example/",
    "javascript:alert(1)",
    "https://user:pass@partner.example/hook",
    "https:///nohost",
    "https://partner.example/ho ok",
    "https://partner.example:99999/",
    "https://partner.example/\r\nX-Injected: 1",
]


@pytest.fixture
def stub():  # type: ignore[no-untyped-def]
    from dataclasses import dataclass, field

    @dataclass
    class Stub:
        answers: dict[str, list[str]] = field(
            default_factory=lambda: {
                "partner.example": ["93.184.216.34"],
                "localhost": ["127.0.0.1", "::1"],
                "2130706433": ["127.0.0.1"],
                "rebind.example": ["93.184.216.34", "10.0.0.1"],
            }
        )

        async def __call__(self, host: str, port: int) -> list[str]:
            if host not in self.answers:
                raise OSError("NXDOMAIN")
            return self.answers[host]

    return Stub()


@pytest.mark.parametrize("url", REFUSED_URLS)
async def test_refused(url: str, stub) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnsafeTarget):
        await check_target(url, resolver=stub, allow_private=False)


@pytest.mark.parametrize(
    "url", ["https://partner.example/hook", "http://partner.example:8443/x?y=1", "https://93.184.216.34/"]
)
async def test_public_targets_accepted_and_pinned(url: str, stub) -> None:  # type: ignore[no-untyped-def]
    target = await check_target(url, resolver=stub, allow_private=False)
    assert target.address == "93.184.216.34"


async def test_development_setting_allows_private_targets(stub) -> None:  # type: ignore[no-untyped-def]
    target = await check_target("http://localhost:9000/hook", resolver=stub, allow_private=True)
    assert target.address == "127.0.0.1" and target.port == 9000
    with pytest.raises(UnsafeTarget):  # schemes and credentials stay refused
        await check_target("file:///etc/passwd", resolver=stub, allow_private=True)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("::ffff:8.8.8.8", True),
        ("127.0.0.1", False),
        ("fe80::1%eth0", False),
        ("255.255.255.255", False),
        ("not-an-ip", False),
    ],
)
def test_address_classification(address: str, public: bool) -> None:
    assert address_is_public(address) is public
