"""Base for actors that host an asyncio server (web, Modbus TCP, SNMP, SQLite writer, SMTP).

Thespian actors are synchronous; the servers are asyncio. The actor starts one daemon thread
running an event loop. Data goes in with `loop.call_soon_threadsafe`; commands come out through
a queue plus a socketpair that Thespian watches (`ThespianWatch`), so a command reaches the tree
within milliseconds without polling. Nothing in the loop thread calls Thespian (THESPIAN.md §3).

Pitfall this class guards: after every message Thespian *replaces* the watch list with what
the handler returned. Every `receiveMsg_*` of a subclass must end with `return self.watch()`.
simpleSystemBase does not support watches, so there the actor falls back to a 20 ms poll timer.

Protocol actors are leaves: forking a process that runs threads is unsafe, so they never
create children.
"""

from __future__ import annotations

import asyncio
import inspect
import queue
import socket
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from thespian.actors import (
    ActorExitRequest,
    ActorTypeDispatcher,
    ThespianWatch,
    WakeupMessage,
    WatchMessage,
)

from actors.messages.address import Address
from observability.log import configure_structlog, get_logger

_POLL = "protocol-actor-poll-commands"


@dataclass(frozen=True)
class SendTo:
    """Loop -> actor thread: send `message` to `target` rather than to the gateway (only the
    actor thread may call Thespian, and post_command carries no address of its own)."""

    target: Address
    message: Any


class _LoopEnded:
    """Posted by the loop thread when main() ends while the actor was not stopping."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


_LOOP_START_TIMEOUT_S = 10.0


class ProtocolActor(ActorTypeDispatcher):
    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Thespian passes `capabilities` only to an __init__ that names it (withPossibleInitArgs);
        without it the actor cannot know that watches work and would never wake on commands."""
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None and "capabilities" not in inspect.signature(init).parameters:
            raise TypeError(f"{cls.__name__}.__init__ must accept `capabilities` and pass it to ProtocolActor")

    def __init__(self, capabilities: dict | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        configure_structlog()  # every protocol actor logs through Thespian's logger, as JSON lines
        self._watch_supported = bool((capabilities or {}).get("Thespian Watch Supported"))
        self._commands: queue.SimpleQueue = queue.SimpleQueue()
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._wake_reader.setblocking(False)
        self._wake_writer.setblocking(False)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._main_task: asyncio.Task | None = None
        self._polling = False
        self._stopping = False
        self.gateway: Address | None = None

    # -- loop thread management -------------------------------------------------------------

    def start_loop(self, main: Callable[[], Awaitable[None]]) -> None:
        """Run `await main()` in a daemon thread's event loop; return once the loop runs."""
        if self._thread is not None:
            return
        started = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop

            async def guarded() -> None:
                self._main_task = asyncio.current_task()
                started.set()
                await main()

            ended = "returned"
            try:
                loop.run_until_complete(guarded())
            except asyncio.CancelledError:
                pass
            except Exception as error:  # reported to the actor, which exits so its parent re-creates it
                ended = f"{type(error).__name__}: {error}"
            finally:
                pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()
                started.set()
            if not self._stopping:
                self.post_command(_LoopEnded(ended))

        self._thread = threading.Thread(target=run, name=f"{type(self).__name__}-loop", daemon=True)
        self._thread.start()
        if not started.wait(_LOOP_START_TIMEOUT_S):
            raise RuntimeError(f"{type(self).__name__}: event loop did not start")

    def in_loop(self, fn: Callable[..., Any], *args: Any) -> None:
        """Actor thread -> loop thread. Dropped silently once the loop has stopped."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(fn, *args)
            except RuntimeError:  # loop closed between the check and the call
                pass

    def run_in_loop(self, coro: Awaitable[Any], timeout: float = 10.0) -> Any:
        """Actor thread: run a coroutine in the loop and wait for its result (use sparingly)."""
        if self._loop is None:
            raise RuntimeError("event loop not started")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def stop_loop(self) -> None:
        """Cancel main() and wait for the thread; the servers close in their finally blocks."""
        self._stopping = True
        loop, task, thread = self._loop, self._main_task, self._thread
        if loop is not None and task is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:
                pass
        if thread is not None:
            thread.join(timeout=5)
        self._thread = None
        for s in (self._wake_reader, self._wake_writer):
            try:
                s.close()
            except OSError:
                pass

    # -- commands out of the loop -------------------------------------------------------------

    def post_command(self, message: Any) -> None:
        """Loop thread -> actor. Thread-safe; wakes the actor through the socketpair."""
        self._commands.put(message)
        try:
            self._wake_writer.send(b"\0")
        except (BlockingIOError, OSError):
            pass  # the pipe is full (a wake-up is pending anyway) or closed at shutdown

    def on_command(self, message: Any) -> None:
        """What to do with a command from the loop; by default it goes to the gateway."""
        if self.gateway is not None:
            self.send(self.gateway, message)

    def _drain_commands(self) -> None:
        try:
            while self._wake_reader.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass
        try:
            while True:
                try:
                    message = self._commands.get_nowait()
                except queue.Empty:
                    return
                if isinstance(message, _LoopEnded):
                    self._loop_ended(message.reason)
                    return
                if isinstance(message, SendTo):
                    self.send(message.target, message.message)
                else:
                    self.on_command(message)
        finally:
            self.on_commands_drained()

    def on_commands_drained(self) -> None:
        """After every command that had queued was handled: where a subclass sends on what it
        gathered from them (the aggregator's subscriber sends a batch of MQTT messages)."""

    def _loop_ended(self, reason: str) -> None:
        """The server's loop ended on its own: a dead server in a live actor would drop every
        message silently, so the actor exits and its parent re-creates it."""
        get_logger("btms.protocol_actor").error(
            "server loop ended; exiting to be re-created", actor=type(self).__name__, reason=reason
        )
        self.send(self.myAddress, ActorExitRequest())

    def watch(self) -> ThespianWatch | None:
        """What every handler returns: keeps the command socket watched (or the poll armed)."""
        if self._watch_supported:
            return ThespianWatch([self._wake_reader.fileno()])
        if not self._polling and self._thread is not None:
            self._polling = True
            self.wakeupAfter(timedelta(milliseconds=20), payload=_POLL)
        return None

    # -- Thespian plumbing that subclasses inherit -------------------------------------------

    def receiveMsg_WatchMessage(self, message: WatchMessage, sender: Address):
        self._drain_commands()
        return self.watch()

    def receiveMsg_WakeupMessage(self, message: WakeupMessage, sender: Address):
        if message.payload == _POLL:
            self._polling = False
            self._drain_commands()
        else:
            self.on_wakeup(message.payload)
        return self.watch()

    def on_wakeup(self, payload: Any) -> None:
        """Subclasses' own timers."""

    def receiveUnrecognizedMessage(self, message: Any, sender: Address):
        """Ignore it, but keep the watch: returning None would stop the commands (see above)."""
        return self.watch()

    def receiveMsg_ActorExitRequest(self, message: ActorExitRequest, sender: Address):
        self.stop_loop()
