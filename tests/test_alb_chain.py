"""The ALB request chain without sockets: one order of stages, and what each kind of outcome leads to."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from api_models.attribute_views import ListenerSettings, LoadBalancerSettings
from emulator.dataplane.alb.chain import stages
from emulator.dataplane.alb.chain.order import Chain
from emulator.dataplane.alb.exchange import Exchange
from emulator.dataplane.alb.headers.forwarded import HeaderPolicy
from emulator.dataplane.alb.headers.response import ResponsePolicy
from emulator.dataplane.alb.request import Request
from emulator.dataplane.alb.routing.actions import FixedResponse
from emulator.dataplane.alb.routing.rules import compile_rules


class FakeLeg:
    """A downstream leg that records what the chain asked of it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.closing = False
        self.active: Exchange | None = None
        self.tls_headers: list[tuple[bytes, bytes]] = []
        self.responses: list[int] = []
        self.forwarded: list[object] = []

    def respond(self, exchange: Exchange, response) -> None:
        self.responses.append(response.status)
        self.active = None

    def forward(self, exchange: Exchange, decision) -> None:
        self.forwarded.append(decision)


def _chain(desync: str = "defensive", guarded: bool = True) -> Chain:
    default = FixedResponse({"StatusCode": "418", "MessageBody": "teapot"})
    balancer = SimpleNamespace(DNSName="lb.example.com")
    return Chain.compile(
        protocol="HTTP", port=80, table=compile_rules([], lambda actions: None, default), authenticators=[], guarded=guarded, cookies=True,
        desync_mode=desync, policy=HeaderPolicy("HTTP", 80, balancer, LoadBalancerSettings.of({})),
        responses=ResponsePolicy(ListenerSettings.of({})),
    )


def _exchange(leg: FakeLeg, method: str = "GET") -> Exchange:
    request = Request("192.0.2.1", 40000)
    request.method, request.url, request.host = method, b"/", "lb.example.com"
    exchange = Exchange(request, leg)
    leg.active = exchange
    return exchange


def test_one_order_in_aws_evaluation_order():
    names = [type(stage).__name__ for stage in _chain().stages]
    assert names == ["RequestValidation", "RuleRouting", "RuleAuthentication", "TerminalAction", "TargetSelection",
                     "UpstreamLeg"]
    # Stages with nothing to do for a configuration are left out when it is compiled.
    assert "RuleAuthentication" not in [type(stage).__name__ for stage in _chain(guarded=False).stages]


def test_local_responses_end_the_chain():
    async def run() -> None:
        leg = FakeLeg(asyncio.get_running_loop())
        chain = _chain()
        chain.run(_exchange(leg))
        chain.run(_exchange(leg, "TRACE"))
        assert leg.responses == [418, 405] and not leg.forwarded

    asyncio.run(run())


def test_a_waiting_stage_resumes_the_chain_after_itself():
    seen: list[str] = []

    class Waits:
        def run(self, ctx: Exchange):
            async def later():
                await asyncio.sleep(0)
                seen.append("waited")
                return None  # go on

            return later()

    class Records:
        def run(self, ctx: Exchange):
            seen.append("next stage")
            return None

    async def run() -> None:
        leg = FakeLeg(asyncio.get_running_loop())
        compiled = _chain()
        chain = Chain((Waits(), Records(), *compiled.stages[-5:]), compiled.response_stages)
        chain.run(_exchange(leg))
        assert seen == [] and leg.responses == []
        for _ in range(5):
            await asyncio.sleep(0)
        assert seen == ["waited", "next stage"] and leg.responses == [418]

    asyncio.run(run())


def test_a_waiting_stage_answers_nothing_once_the_client_is_gone():
    class Waits:
        def run(self, ctx: Exchange):
            async def later():
                await asyncio.sleep(0)
                return stages.lb_response(401)

            return later()

    async def run() -> None:
        leg = FakeLeg(asyncio.get_running_loop())
        chain = Chain((Waits(),), ())
        chain.run(_exchange(leg))
        leg.closing = True
        for _ in range(5):
            await asyncio.sleep(0)
        assert leg.responses == []

    asyncio.run(run())
