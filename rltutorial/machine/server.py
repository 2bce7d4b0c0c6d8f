"""The virtual ARES-EA served over EPICS Channel Access with caproto.

:func:`serve` puts a :class:`~rltutorial.machine.model.MachineModel` behind the PVs of
:mod:`rltutorial.machine.names` and runs it: a loop advances time every
:data:`TICK_S` (magnets ramp, the beam drifts), publishes changed read-backs and takes a
camera frame at the configured rate. Every write (accepted or refused) is logged with
the client that made it, and the machine's rules are enforced here, in the server:

- a magnet set-point beyond its limits is refused (Channel Access error ECA_PUTFAIL,
  and the channel's alarm shows a write error);
- while ``ARESEA:STOP`` is 1 every magnet write is refused and the magnets stay where
  they were when the stop came;
- while a client holds the lease (``ARESEA:LEASE``), magnet writes from any other client
  connection are refused.

caproto is imported here only; ``pip install "rltutorial[machine]"`` brings it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from rltutorial.machine.errors import WriteRefused
from rltutorial.machine.model import MachineModel, MachineSettings
from rltutorial.machine.names import MAGNETS, MachinePVs
from rltutorial.machine.writelog import MESSAGE_LENGTH, WriteLog

__all__ = ["serve", "loopback_environment", "READY_LINE"]

#: Seconds between two updates of the magnets and the drift.
TICK_S = 0.01
#: What the server prints (with host and port) once it answers.
READY_LINE = "virtual ARES ready on"
_LOG = logging.getLogger("rltutorial.machine")


def import_caproto():
    """caproto's server classes, or an ImportError with the install hint."""
    try:
        from caproto import ChannelDouble, ChannelFloat, ChannelInteger, ChannelString
        from caproto.server import run
    except ImportError:
        raise ImportError(
            "The virtual machine needs caproto: pip install 'rltutorial[machine]' "
            "(or pip install caproto)."
        ) from None
    return ChannelDouble, ChannelFloat, ChannelInteger, ChannelString, run


def loopback_environment(host: str, port: int) -> dict[str, str]:
    """EPICS variables that keep a server on ``host`` and port ``port`` to itself.

    The server listens (TCP and UDP search) on ``host`` only, and sends its beacons
    only there; nothing is broadcast to other networks.
    """
    return {
        "EPICS_CA_SERVER_PORT": str(port),
        "EPICS_CAS_INTF_ADDR_LIST": host,
        "EPICS_CAS_BEACON_ADDR_LIST": host,
        "EPICS_CAS_AUTO_BEACON_ADDR_LIST": "NO",
    }


class _QuietCaproto(logging.Filter):
    """Drop caproto's tracebacks for refused writes (logged here with their client)
    and for beacons that nobody listens to (no CA repeater on loopback)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        return not message.startswith(
            ("Invalid write request", "Failed to send beacon")
        )


def _channel_classes():
    """Channel classes whose writes go through a handler and into the write log."""
    ChannelDouble, ChannelFloat, ChannelInteger, ChannelString, _ = import_caproto()
    from caproto import AccessRights, ChannelChar

    class Handled:
        """Mixin: ``handler(client, value) -> value`` checks each write; all are logged."""

        def __init__(self, *args, pvname: str, log: WriteLog, handler=None, **kwargs):
            super().__init__(*args, **kwargs)
            self.pvname, self.log, self.handler = pvname, log, handler
            self._client = "server"

        def check_access(self, hostname, username):
            if self.handler is None:
                return AccessRights.READ
            return AccessRights.READ | AccessRights.WRITE

        async def auth_write(self, hostname, username, data, data_type, metadata, **kw):
            address = kw.get("user_address")
            self._client = (
                f"{username}@{address[0]}:{address[1]}" if address else str(username)
            )
            try:
                result = await super().auth_write(
                    hostname, username, data, data_type, metadata, **kw
                )
            except Exception as error:
                self.log.record(self._client, self.pvname, data, error)
                raise
            self.log.record(self._client, self.pvname, self.value, None)
            await self.alarm.write(status=0, severity=0)
            return result

        async def verify_value(self, value):
            value = await super().verify_value(value)
            return value if self.handler is None else self.handler(self._client, value)

    def make(base):
        return type(f"Handled{base.__name__}", (Handled, base), {})

    return {
        "double": make(ChannelDouble),
        "float": make(ChannelFloat),
        "long": make(ChannelInteger),
        "string": make(ChannelString),
        "char": make(ChannelChar),
    }


class VirtualAresServer:
    """The PV database of one virtual machine and the loop that runs it.

    Parameters
    ----------
    model : MachineModel
        The machine.
    prefix : str
        PV name prefix.
    write_log : Path, optional
        JSON-lines file of every write.
    """

    def __init__(
        self,
        model: MachineModel,
        prefix: str = "",
        write_log: Path | None = None,
        parent: int | None = None,
    ) -> None:
        self.model = model
        self.parent = parent
        self.names = MachinePVs(prefix)
        self.log = WriteLog(write_log)
        self.frame = 0
        self.reading = model.frame()
        self.stamp = time.time()
        self.pvdb = self._build()

    def _clock_client(self, handler: Callable[[str, Any], Any]) -> Callable:
        return lambda client, value: handler(client, value, time.time())

    def _build(self) -> dict[str, Any]:
        kinds = _channel_classes()
        names, model = self.names, self.model
        pvdb: dict[str, Any] = {}

        def add(kind: str, name: str, handler=None, **kwargs):
            pvdb[name] = kinds[kind](
                pvname=name, log=self.log, handler=handler, **kwargs
            )

        for index, (magnet, set_name, rbv_name, stuck_name) in enumerate(
            zip(MAGNETS, names.set_points, names.read_backs, names.stuck, strict=True)
        ):
            limits = {
                "units": magnet.unit,
                "lower_ctrl_limit": -magnet.limit,
                "upper_ctrl_limit": magnet.limit,
                "lower_disp_limit": -magnet.limit,
                "upper_disp_limit": magnet.limit,
                "precision": 4 if magnet.field == "K1" else 7,
            }
            add("double", set_name, self._set_point(index), value=0.0, **limits)
            add("double", rbv_name, value=0.0, **limits)
            add("long", stuck_name, self._stuck(index), value=0)
        add("double", names.beam, value=self.reading.tolist(), max_length=4, units="m")
        for i, name in enumerate(names.beam_fields):
            add("double", name, value=float(self.reading[i]), units="m", precision=9)
        add("long", names.frame, value=0)
        image = model.image(self.reading)
        add("float", names.image, value=image.ravel(), max_length=image.size)
        self._image_frame = 0
        width, height, binning = names.image_shape
        add("long", width, value=image.shape[1], units="px")
        add("long", height, value=image.shape[0], units="px")
        add("long", binning, value=model.settings.binning)
        add("long", names.stop, self._stop, value=0)
        add("string", names.lease, self._clock_client(self._claim), value="")
        add("string", names.release, self._clock_client(self._release), value="")
        add("long", names.counters[0], value=0)
        add("long", names.counters[1], value=0)
        add("char", names.message, value="", max_length=MESSAGE_LENGTH)
        add(
            "double",
            names.incoming,
            self._incoming,
            value=model.incoming.tolist(),
            max_length=11,
        )
        add(
            "double",
            names.misalignments,
            self._misalignments,
            value=model.misalignments.tolist(),
            max_length=8,
            units="m",
        )
        self._refresh_image_on_read(pvdb[names.image])
        return pvdb

    # ------------------------------------------------------------ handlers
    def _set_point(self, index: int) -> Callable[[str, Any], float]:
        def handler(client: str, value: Any) -> float:
            self.model.check_writer(client, time.time())
            self.model.request(index, float(value))
            return float(value)

        return handler

    def _stuck(self, index: int) -> Callable[[str, Any], int]:
        def handler(client: str, value: Any) -> int:
            self.model.stuck[index] = bool(value)
            return int(bool(value))

        return handler

    def _stop(self, client: str, value: Any) -> int:
        self.model.stop(bool(value))
        return int(bool(value))

    def _claim(self, client: str, value: Any, now: float) -> str:
        if not str(value):
            raise WriteRefused("write a non-empty token to claim the lease.")
        self.model.claim(client, str(value), now)
        return str(value)

    def _release(self, client: str, value: Any, now: float) -> str:
        self.model.release(client, now)
        return ""

    def _incoming(self, client: str, value: Any) -> Any:
        self.model.check_writer(client, time.time())
        self.model.set_incoming(np.asarray(value, dtype=float))
        return value

    def _misalignments(self, client: str, value: Any) -> Any:
        self.model.check_writer(client, time.time())
        self.model.set_misalignments(np.asarray(value, dtype=float))
        return value

    def _refresh_image_on_read(self, channel: Any) -> None:
        """The image is computed when someone reads it, from the latest frame."""
        server, original = self, channel.read

        async def read(data_type):
            if server._image_frame != server.frame:
                server._image_frame = server.frame
                image = server.model.image(server.reading).ravel()
                await channel.write(image, verify_value=False, timestamp=server.stamp)
            return await original(data_type)

        channel.read = read

    # ------------------------------------------------------------ running
    async def _put(self, name: str, value: Any, timestamp: float) -> None:
        channel = self.pvdb[name]
        await channel.write(value, verify_value=False, timestamp=timestamp)

    async def _publish_magnets(self, shown: dict[str, np.ndarray], now: float) -> None:
        names, model = self.names, self.model
        for key, values, pv_names in (
            ("rbv", model.read_backs, names.read_backs),
            ("set", model.set_points, names.set_points),
        ):
            for i in np.flatnonzero(values != shown[key]):
                await self._put(pv_names[i], float(values[i]), now)
            shown[key] = values.copy()

    async def _publish_frame(self, now: float) -> None:
        names = self.names
        self.reading = self.model.frame()
        self.frame += 1
        self.stamp = now
        await self._put(names.beam, self.reading.tolist(), now)
        for name, value in zip(names.beam_fields, self.reading, strict=True):
            await self._put(name, float(value), now)
        await self._put(names.frame, self.frame, now)

    async def _publish_status(self, now: float) -> None:
        names, log = self.names, self.log
        counters = (log.accepted, log.refused)
        for name, value in zip(names.counters, counters, strict=True):
            if self.pvdb[name].value != value:
                await self._put(name, value, now)
        if self.pvdb[names.message].value != log.message:
            await self._put(names.message, log.message, now)
        if self.model.holder(now) is None and self.pvdb[names.lease].value:
            await self._put(names.lease, "", now)

    async def run(self, async_lib: Any = None) -> None:
        """Advance the machine every :data:`TICK_S` and publish what changed."""
        period = 1.0 / self.model.settings.frame_rate
        last = time.monotonic()
        next_frame = last
        shown = {
            "rbv": self.model.read_backs.copy(),
            "set": self.model.set_points.copy(),
        }
        self.stamp = time.time()
        print(READY_LINE, os.environ.get("EPICS_CA_SERVER_PORT"), flush=True)
        while True:
            await asyncio.sleep(TICK_S)
            if self.parent is not None and os.getppid() != self.parent:
                _LOG.warning("the process that started the server is gone; exiting")
                os._exit(0)
            clock = time.monotonic()
            self.model.advance(clock - last)
            last, now = clock, time.time()
            await self._publish_magnets(shown, now)
            if clock >= next_frame:
                next_frame = max(next_frame + period, clock)
                try:
                    await self._publish_frame(now)
                except Exception:  # noqa: BLE001 - the server must keep answering
                    _LOG.exception("no camera frame: the simulation failed")
            await self._publish_status(now)


def serve(
    settings: MachineSettings | None = None,
    host: str = "127.0.0.1",
    port: int = 5064,
    prefix: str = "",
    write_log: Path | None = None,
    incoming: np.ndarray | None = None,
    exit_with_parent: bool = False,
) -> None:
    """Run the virtual ARES-EA until the process is stopped (blocks).

    Parameters
    ----------
    settings : MachineSettings, optional
        Noise, drift, ramp, camera and lease settings.
    host : str
        Interface to listen on; ``"127.0.0.1"`` (default) keeps the machine on this
        computer. Beacons go to the same address only.
    port : int
        Channel Access port (UDP search and TCP).
    prefix : str
        PV name prefix.
    write_log : Path, optional
        Append every write as a JSON line here.
    incoming : ndarray (11,), optional
        Initial incoming beam.
    exit_with_parent : bool
        Exit when the process that started this one ends (no orphaned servers).
    """
    *_, run = import_caproto()
    os.environ.update(loopback_environment(host, port))
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_QuietCaproto())
    parent = os.getppid() if exit_with_parent else None
    model = MachineModel(settings, incoming)
    server = VirtualAresServer(model, prefix, write_log, parent)
    run(server.pvdb, interfaces=[host], startup_hook=server.run)
