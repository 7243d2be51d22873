"""`allow` and `deny`: parsed in the edge and route blocks, formatted, lowered into canonical
networks, their values checked; `routing.address_allowed` is the rule every target follows."""
from __future__ import annotations

import pytest

from edgec import ir, routing
from edgec.features import used_features
from edgec.fmt import format_source
from edgec.pipeline import analyse


def source(edge_lines: str = "", route_lines: str = "") -> str:
    return (f'edge "a" {{\n{edge_lines}  upstream u {{\n    server "127.0.0.1:9001"\n  }}\n'
            f'  route r {{\n{route_lines}    forward u\n  }}\n}}\n')


def diagnostics(text: str) -> list[tuple[str, int, int, str]]:
    return [(d.code, d.line, d.column, d.message) for d in analyse(text, "a.edge").diagnostics]


def test_lowered_in_both_blocks_as_canonical_networks():
    edge = analyse(source('  deny "203.0.113.0/24"\n  deny "2001:DB8:0:0::/64"\n',
                          '    allow "10.0.0.0/8" "192.0.2.7"\n    deny "10.9.0.0/16"\n    allow "::1"\n'),
                   "a.edge").edge
    assert edge.access == ir.Access(deny=("203.0.113.0/24", "2001:db8::/64"))
    assert edge.route("r").access == ir.Access(allow=("10.0.0.0/8", "192.0.2.7/32", "::1/128"),
                                               deny=("10.9.0.0/16",))
    assert sorted((u.feature, u.where) for u in used_features(edge) if u.feature == "access") == [
        ("access", "edge"), ("access", "route 'r'")]


def test_a_list_variable_and_repeats_kept_once():
    text = source("", '    allow ${office}\n    allow "10.0.0.0/8"\n').replace(
        'edge "a" {\n', 'edge "a" {\n  vars {\n    office = ["10.0.0.0/8", "192.0.2.0/24"]\n  }\n')
    assert analyse(text, "a.edge").edge.route("r").access.allow == ("10.0.0.0/8", "192.0.2.0/24")


def test_nothing_written_uses_nothing():
    edge = analyse(source(), "a.edge").edge
    assert edge.access.empty and edge.route("r").access.empty
    assert not [u for u in used_features(edge) if u.feature == "access"]


def test_formatted_in_place():
    messy = source('  deny    "203.0.113.0/24"\n', '        allow "10.0.0.0/8"    "::1"\n')
    assert format_source(messy) == source('  deny "203.0.113.0/24"\n', '    allow "10.0.0.0/8" "::1"\n')


@pytest.mark.parametrize("written,expected", [
    ('allow "10.0.0.300/8"', [("E202", 6, 11, "'10.0.0.300/8' is not an IP address or CIDR range")]),
    ('allow "office"', [("E202", 6, 11, "'office' is not an IP address or CIDR range")]),
    ('deny "10.0.0.1/8"', [("W319", 6, 10, "'10.0.0.1/8' is not a network address: it means 10.0.0.0/8")]),
    ('deny "2001:db8::1/32"', [("W319", 6, 10, "'2001:db8::1/32' is not a network address: it means 2001:db8::/32")]),
])
def test_values_it_refuses_or_questions(written, expected):
    assert diagnostics(source("", f"    {written}\n")) == expected


def test_the_host_bits_hint_names_both_readings():
    [d] = analyse(source("", '    allow "192.0.2.10/24"\n'), "a.edge").diagnostics
    assert d.hint == 'write "192.0.2.0/24" for the network, or "192.0.2.10" for the one address'


def test_trusted_proxies_are_held_to_network_addresses_too():
    assert [c for c, *_ in diagnostics(source('  trust_proxies "10.0.0.1/8"\n'))] == ["W319"]


ACCESS = ir.Access(allow=("10.0.0.0/8", "2001:db8::/32"), deny=("10.9.0.0/16",))


@pytest.mark.parametrize("address,allowed", [
    ("10.1.2.3", True),
    ("10.9.0.1", False),  # deny wins inside an allowed network
    ("192.0.2.1", False),  # outside every allowed network
    ("2001:db8::5", True),
    ("2001:db9::5", False),
    ("::ffff:10.1.2.3", True),  # an IPv4 client on a dual-stack socket
    ("::ffff:10.9.0.1", False),
    ("not-an-address", False),
])
def test_deny_wins_then_allow_lists_who_may_come(address, allowed):
    assert routing.address_allowed(ACCESS, address) is allowed


def test_only_deny_lets_everyone_else_in():
    only_deny = ir.Access(deny=("203.0.113.0/24",))
    assert routing.address_allowed(only_deny, "198.51.100.1")
    assert not routing.address_allowed(only_deny, "203.0.113.9")
    assert routing.address_allowed(ir.Access(), "anything")
