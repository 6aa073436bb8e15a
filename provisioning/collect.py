"""``etapiste ops collect``: keep every point's statistics in the organiser's store, for years.

It subscribes to ``point/+/stats`` (retained, QoS 1) with the broker's read-only ``collector`` account
and hands each document to :class:`provisioning.stats_store.Store`, which keeps the latest copy of each
(point, day). A point that was offline for weeks back-fills on its next publish (its document carries
its last 35 days); a collector that was down for a day catches up from the retained copies as soon as
it subscribes again. Nothing is kept in memory but a document the database could not take (it is
tried again, and the point's next publish supersedes it).

What it logs is a point id and counts of days, never a figure, and the reason a document was refused
(scrubbed, shortened): a broken or hostile point cannot get text into the organiser's logs verbatim.

The points' own tests call :func:`collect_once` or use :class:`Store` (re-exported here) directly:
``Store(url).ingest_payload(point, payload)`` then ``Store(url).day(point, date)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import aiomqtt
import sqlalchemy as sa

from etapiste.retry import Backoff
from provisioning import broker
from provisioning.privacy import scrub
from provisioning.stats_model import StatsError
from provisioning.stats_store import IngestReport, Store

__all__ = ["Collector", "IngestReport", "Store", "collect_once"]

log = logging.getLogger("etapiste.collect")

RETRY_S = 30.0
MAX_BACKOFF_S = 30.0


class Collector:
    """One subscription's worth of work: ``handle`` a message, keep what the database refused for later."""

    def __init__(self, store: Store):
        self.store = store
        self.pending: dict[str, bytes] = {}
        """The last payload of each point that the database could not take (tried again)."""
        self.documents = 0
        self.refused = 0

    async def handle(self, topic: str, payload: bytes) -> IngestReport | None:
        point = broker.point_of(topic)
        if point is None or not topic.endswith("/stats"):
            return None
        try:
            broker.check_point_id(point)
        except ValueError:
            log.warning("ignored statistics on a topic that names no valid point")
            return None
        if not payload:  # a cleared retained message
            return None
        self.pending.pop(point, None)
        return await self._ingest(point, payload)

    async def _ingest(self, point: str, payload: bytes) -> IngestReport | None:
        try:
            report = await asyncio.to_thread(self.store.ingest_payload, point, payload)
        except StatsError as exc:
            self.refused += 1
            log.warning("%s: statistics refused: %s", point, scrub(str(exc))[:600])
            return None
        except sa.exc.SQLAlchemyError as exc:
            self.pending[point] = payload
            log.error("%s: the store did not take the statistics (%s); trying again in %g s",
                      point, type(exc).__name__, RETRY_S)  # fmt: skip
            return None
        self.documents += 1
        for warning in report.warnings:
            log.warning("%s: %s", point, scrub(warning)[:200])
        log.info("%s", report.summary())
        return report

    async def retry_pending(self) -> None:
        for point, payload in list(self.pending.items()):
            if self.pending.get(point) is payload:
                del self.pending[point]
                await self._ingest(point, payload)


async def run(
    make_client: Callable[[], aiomqtt.Client],
    store: Store,
    *,
    ready: Callable[[], None] | None = None,
    retry_s: float = RETRY_S,
) -> None:
    """Collect until cancelled; reconnect with full jitter (:class:`etapiste.retry.Backoff`, up to 30 s)
    whenever the broker goes away, so collectors restarted with the broker do not return in lock-step."""
    collector = Collector(store)
    backoff = Backoff(base_s=1.0, cap_s=MAX_BACKOFF_S)

    async def retry() -> None:
        while True:
            await asyncio.sleep(retry_s)
            await collector.retry_pending()

    retrier = asyncio.create_task(retry())
    try:
        while True:
            try:
                async with make_client() as client:
                    await client.subscribe(broker.all_points("stats"), qos=1)
                    log.info("collecting statistics (%s store)", store.engine.dialect.name)
                    if ready is not None:
                        ready()
                        ready = None
                    backoff.reset()
                    async for message in client.messages:
                        if isinstance(message.payload, bytes | bytearray):
                            await collector.handle(message.topic.value, bytes(message.payload))
            except aiomqtt.MqttError as exc:
                delay = next(backoff)
                log.warning("broker: %s; connecting again in %.1f s", exc, delay)
                await asyncio.sleep(delay)
    finally:
        retrier.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await retrier


async def collect_once(make_client: Callable[[], aiomqtt.Client], store: Store, quiet: float = 0.5) -> int:
    """Take every point's retained statistics once (until the broker has been quiet for ``quiet`` s) into
    ``store``; the number of documents stored. For tests, and for a store filled by a cron job."""
    collector = Collector(store)
    async with make_client() as client:
        await client.subscribe(broker.all_points("stats"), qos=1)
        messages = aiter(client.messages)
        while True:
            try:
                async with asyncio.timeout(quiet):
                    m = await anext(messages)
            except TimeoutError:
                break
            if isinstance(m.payload, bytes | bytearray):
                await collector.handle(m.topic.value, bytes(m.payload))
    return collector.documents


def main(args: Any, make_client: Callable[[], aiomqtt.Client]) -> int:
    """``etapiste ops collect``: run until stopped (SIGTERM from systemd ends it between messages; a
    document is stored in one transaction, so an interrupted one is simply stored again later)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        store = Store(args.store)
    except ValueError as exc:
        raise CollectError(str(exc)) from None
    except sa.exc.SQLAlchemyError as exc:
        raise CollectError(f"cannot open the store: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}") from None
    try:
        asyncio.run(run(make_client, store))
    except KeyboardInterrupt:
        pass
    finally:
        store.close()
    return 0


class CollectError(Exception):
    """A start-up problem the operator must fix (the store's URL, the database unreachable)."""
