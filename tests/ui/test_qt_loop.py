"""The GUI's event loop (app/qt_loop.py): asyncio driven from Qt, as the app relies on it."""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
import time

import aiohttp
import pytest
from aiohttp import web
from PySide6.QtCore import QTimer

from compass_listener.app.qt_loop import QtEventLoop, new_event_loop

# A broken loop hangs inside Qt's exec(), where pytest-timeout cannot reach; this Qt timer
# ends exec() instead (again and again, should a later run hang too), so the test fails in
# seconds with a sentence, not a stack dump.
WATCHDOG_MS = 10_000


@pytest.fixture
def loop(qapp):
    quit_on_close = qapp.quitOnLastWindowClosed()
    qapp.setQuitOnLastWindowClosed(False)   # a window closed by another test must not quit
    loop = new_event_loop(qapp)
    assert isinstance(loop, QtEventLoop)    # not qasync's fallback: that is not under test
    hung = []
    watchdog = QTimer()
    watchdog.timeout.connect(lambda: (hung.append(True), qapp.exit(1)))
    watchdog.start(WATCHDOG_MS)
    try:
        yield loop
        if not loop.is_closed() and not hung:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        watchdog.stop()
        loop.close()
        qapp.setQuitOnLastWindowClosed(quit_on_close)
    assert not hung, f"the loop hung: the {WATCHDOG_MS} ms watchdog had to end Qt's exec()"


def timed(loop, coro):
    """Run coro to completion; its result and the seconds it took."""
    start = time.monotonic()
    result = loop.run_until_complete(coro)
    return result, time.monotonic() - start


# ---- run_until_complete -----------------------------------------------------------------

def test_run_until_complete_returns_the_coroutines_result(loop):
    async def answer():
        await asyncio.sleep(0.01)
        return 42

    assert loop.run_until_complete(answer()) == 42


def test_run_until_complete_raises_the_coroutines_exception(loop):
    async def fail():
        await asyncio.sleep(0)
        raise ValueError("from the coroutine")

    with pytest.raises(ValueError, match="from the coroutine"):
        loop.run_until_complete(fail())
    assert not loop.is_running()


def test_run_until_complete_can_be_called_twice_in_a_row(loop):
    async def echo(value):
        await asyncio.sleep(0.01)
        return value

    assert loop.run_until_complete(echo("first")) == "first"
    assert loop.run_until_complete(echo("second")) == "second"


def test_running_restores_the_async_generator_hooks_and_the_running_loop(loop):
    hooks = sys.get_asyncgen_hooks()

    async def running_loop():
        return asyncio.get_running_loop()

    assert loop.run_until_complete(running_loop()) is loop
    assert sys.get_asyncgen_hooks() == hooks
    assert asyncio._get_running_loop() is None


# ---- waking up: from Qt, from timers, from other threads ------------------------------

def test_call_soon_from_a_qt_slot_runs_promptly(loop):
    async def main():
        done = loop.create_future()
        QTimer.singleShot(20, lambda: loop.call_soon(done.set_result, "from a Qt slot"))
        # The bound only wakes the loop if the call_soon did not.
        return await asyncio.wait_for(done, 5)

    result, took = timed(loop, main())
    assert result == "from a Qt slot"
    assert took < 1.0


def test_call_later_fires_not_early_and_soon(loop):
    async def main():
        fired = loop.create_future()
        start = time.monotonic()
        loop.call_later(0.05, lambda: fired.set_result(time.monotonic() - start))
        return await fired

    delay = loop.run_until_complete(main())
    assert 0.05 - 1e-6 <= delay < 0.5


def test_a_timer_weeks_away_neither_raises_nor_delays_nearer_ones(loop):
    # Qt timers take an int of milliseconds (at most ~24.8 days); asyncio allows any delay.
    async def main():
        loop.call_later(30 * 86400, print, "a month later")
        idle = loop.create_future()
        QTimer.singleShot(20, lambda: loop.call_soon(idle.set_result, None))
        await idle                      # the loop re-armed Qt's timer for the far one
        start = time.monotonic()
        await asyncio.sleep(0.05)
        return time.monotonic() - start

    assert 0.05 - 1e-6 <= loop.run_until_complete(main()) < 0.5


@pytest.mark.parametrize("scheduled_from", ["a Qt slot", "a coroutine"])
def test_an_earlier_timer_scheduled_after_a_later_one_fires_first_and_soon(loop, scheduled_from):
    fired = []

    def schedule_short():
        at = time.monotonic()
        loop.call_later(0.02, lambda: fired.append(("short", time.monotonic() - at)))

    async def main():
        loop.call_later(0.5, lambda: fired.append(("long", None)))
        if scheduled_from == "a Qt slot":
            # By then the loop is idle and Qt's timer is armed for the 0.5 s one.
            QTimer.singleShot(30, schedule_short)
        else:
            await asyncio.sleep(0.03)
            schedule_short()
        await asyncio.sleep(0.6)

    loop.run_until_complete(main())
    assert [name for name, _ in fired] == ["short", "long"]
    assert fired[0][1] < 0.3


def test_call_soon_threadsafe_from_a_plain_thread_wakes_the_idle_loop_without_qt_warnings(
        loop, qtlog):
    async def main():
        done = loop.create_future()

        def worker():
            time.sleep(0.1)     # the loop is idle in Qt's exec() by now
            loop.call_soon_threadsafe(done.set_result, threading.get_ident())

        thread = threading.Thread(target=worker)
        thread.start()
        try:
            start = time.monotonic()
            sender = await asyncio.wait_for(done, 5)
            return sender, thread.ident, time.monotonic() - start
        finally:
            thread.join()

    sender, worker_ident, took = loop.run_until_complete(main())
    assert sender == worker_ident != threading.get_ident()
    assert took < 1.0
    messages = [record.message for record in qtlog.records]
    assert not any("Timers cannot be started from another thread" in m for m in messages)
    assert messages == []


def test_many_call_soon_threadsafe_calls_from_threads_all_run(loop):
    calls = []

    async def main():
        def worker(n):
            for i in range(250):
                loop.call_soon_threadsafe(calls.append, (n, i))

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            # Its result comes through call_soon_threadsafe too, queued after the worker's.
            await asyncio.wait_for(loop.run_in_executor(None, thread.join), 5)

    loop.run_until_complete(main())
    assert sorted(calls) == [(n, i) for n in range(4) for i in range(250)]


def test_run_in_executor_returns_the_functions_result_from_another_thread(loop):
    def work(x):
        return x * 2, threading.get_ident()

    async def main():
        return await asyncio.wait_for(loop.run_in_executor(None, work, 21), 5)

    (value, ident), took = timed(loop, main())
    assert value == 42 and ident != threading.get_ident()
    assert took < 2.0


# ---- real sockets -------------------------------------------------------------------------

def test_aiohttp_server_and_client_in_one_loop_serve_200_requests_20_at_a_time(loop):
    served = []

    async def handle(request):
        served.append(request.query["i"])
        await asyncio.sleep(0)
        return web.Response(text=request.query["i"])

    async def main():
        app = web.Application()
        app.router.add_get("/echo", handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        limit = asyncio.Semaphore(20)
        try:
            async with aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(limit=20)) as session:
                async def one(i):
                    async with limit, session.get(f"http://{host}:{port}/echo",
                                                  params={"i": str(i)}) as resp:
                        return resp.status, await resp.text()

                return await asyncio.gather(*(one(i) for i in range(200)))
        finally:
            await runner.cleanup()

    replies, took = timed(loop, main())
    assert replies == [(200, str(i)) for i in range(200)]
    assert sorted(served, key=int) == [str(i) for i in range(200)]
    assert took < 20


# ---- Qt and asyncio share the thread fairly ---------------------------------------------

def test_a_qt_timer_keeps_ticking_while_asyncio_is_busy_with_callbacks(loop):
    ticks = []
    ticker = QTimer()
    ticker.setInterval(10)
    ticker.timeout.connect(lambda: ticks.append(time.monotonic()))

    async def spinner(deadline):
        spins = 0
        while time.monotonic() < deadline:
            await asyncio.sleep(0)      # always ready: asyncio never runs out of work
            spins += 1
        return spins

    async def main():
        deadline = time.monotonic() + 0.6
        ticker.start()
        try:
            return sum(await asyncio.gather(*(spinner(deadline) for _ in range(50))))
        finally:
            ticker.stop()

    spins = loop.run_until_complete(main())
    assert spins > 1000                 # asyncio did run flat out
    assert len(ticks) >= 10             # ~60 expected; a starved Qt gets 0 or 1
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert max(gaps) < 0.25


# ---- stopping and closing ----------------------------------------------------------------

def test_stop_from_a_qt_slot_ends_run_forever(loop):
    QTimer.singleShot(50, loop.stop)
    start = time.monotonic()
    loop.run_forever()
    assert 0.04 <= time.monotonic() - start < 5
    assert not loop.is_running()


def test_stop_before_run_forever_runs_the_ready_callbacks_once_and_returns(loop):
    ran = []
    loop.call_soon(ran.append, "ready")
    loop.stop()
    loop.run_forever()
    assert ran == ["ready"]


def test_a_closed_loop_refuses_to_run_and_to_schedule(loop):
    loop.close()
    assert loop.is_closed()
    loop.close()                        # closing twice is harmless
    with pytest.raises(RuntimeError, match="closed"):
        loop.run_forever()
    coro = asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="closed"):
        loop.run_until_complete(coro)
    coro.close()
    with pytest.raises(RuntimeError, match="closed"):
        loop.call_soon(print)


def test_a_running_loop_refuses_to_close_and_keeps_running(loop):
    async def main():
        with pytest.raises(RuntimeError, match="running"):
            loop.close()
        def slow_seven():
            time.sleep(0.2)     # answers when the loop is idle again
            return 7

        # Still woken by its descriptor (the executor answers through the self-pipe).
        return await asyncio.wait_for(loop.run_in_executor(None, slow_seven), 5)

    result, took = timed(loop, main())
    assert result == 7 and took < 2.0
    assert not loop.is_closed()


# ---- errors and async generators -----------------------------------------------------------

def test_an_exception_in_a_callback_goes_to_the_exception_handler_and_the_loop_goes_on(loop):
    contexts = []
    loop.set_exception_handler(lambda _loop, context: contexts.append(context))

    def broken():
        raise ZeroDivisionError("callback bug")

    async def main():
        loop.call_soon(broken)
        QTimer.singleShot(10, lambda: loop.call_soon(broken))   # from a Qt slot too
        await asyncio.sleep(0.1)
        return "still running"

    assert loop.run_until_complete(main()) == "still running"
    assert [type(c["exception"]) for c in contexts] == [ZeroDivisionError] * 2


def test_shutdown_asyncgens_finalises_an_unfinished_async_generator(loop):
    finalised = []

    async def numbers():
        try:
            yield 1
            yield 2
        finally:
            await asyncio.sleep(0)      # only a loop-driven aclose() can get past this
            finalised.append(asyncio.get_running_loop())

    async def take_one():
        gen = numbers()
        await gen.__anext__()
        return gen

    gen = loop.run_until_complete(take_one())
    assert finalised == []
    loop.run_until_complete(loop.shutdown_asyncgens())
    assert finalised == [loop]
    del gen


def test_a_dropped_async_generator_is_finalised_on_the_loop(loop):
    finalised = []

    async def numbers():
        try:
            yield 1
            yield 2
        finally:
            await asyncio.sleep(0)
            finalised.append(asyncio.get_running_loop())

    async def main():
        gen = numbers()
        await gen.__anext__()
        del gen
        gc.collect()
        for _ in range(100):
            if finalised:
                break
            await asyncio.sleep(0.01)

    loop.run_until_complete(main())
    assert finalised == [loop]
