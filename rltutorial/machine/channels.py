"""Channel Access from the client's side: connect to PVs, read and write them with timeouts.

A thin layer over caproto's threading client. Every failure of the network or of the
server becomes a :class:`~rltutorial.machine.errors.MachineError` that names the machine
and the operation; nothing waits longer than the timeout.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from rltutorial.envs.ranges import SCREEN_RESOLUTION
from rltutorial.machine.errors import MachineConnectionError, MachineError
from rltutorial.machine.names import MachinePVs

__all__ = ["Channels", "Reading", "describe_error", "use_address"]

#: Default seconds to find and connect a machine's PVs (a busy computer needs a few).
CONNECT_TIMEOUT = 5.0


class Reading(NamedTuple):
    """One read: the value(s), the machine's time stamp (s, UNIX) and alarm status."""

    data: np.ndarray
    stamp: float | None
    alarm: int


def describe_error(
    address: str, what: str, error: BaseException | None
) -> MachineConnectionError:
    """The error for a lost or silent machine."""
    detail = f": {error}" if error is not None else ""
    return MachineConnectionError(
        f"No answer from the machine at {address} while {what}{detail}. Is the server "
        "running and reachable (EPICS_CA_ADDR_LIST)?"
    )


def use_address(address: str | None) -> str:
    """Point this process's Channel Access searches at ``address`` ("host:port").

    EPICS clients find servers through ``EPICS_CA_ADDR_LIST``; this sets it (and
    ``EPICS_CA_AUTO_ADDR_LIST=NO``, so nothing is broadcast). None leaves the variables
    as they are. Returns the address list in use, for messages.
    """
    if address is not None:
        os.environ["EPICS_CA_ADDR_LIST"] = str(address)
        os.environ["EPICS_CA_AUTO_ADDR_LIST"] = "NO"
    return os.environ.get("EPICS_CA_ADDR_LIST", "(broadcast)")


def _client():
    try:
        from caproto import CaprotoError
        from caproto.threading.client import Context
    except ImportError:
        raise ImportError(
            "The EPICS backend needs caproto: pip install 'rltutorial[machine]' "
            "(or pip install caproto)."
        ) from None
    return Context, CaprotoError


class Channels:
    """Connected PVs of one machine.

    Parameters
    ----------
    names : sequence of str
        PVs to connect to (all must exist).
    address : str
        Where the machine is (for messages).
    timeout : float
        Seconds for each read or write.
    connect_timeout : float, optional
        Seconds for finding and connecting every PV; default the larger of ``timeout``
        and :data:`CONNECT_TIMEOUT`.
    """

    def __init__(
        self,
        names: Sequence[str],
        address: str,
        timeout: float,
        connect_timeout: float | None = None,
    ) -> None:
        Context, self._caproto_error = _client()
        self.address, self.timeout = address, float(timeout)
        if connect_timeout is None:
            connect_timeout = max(self.timeout, CONNECT_TIMEOUT)
        self.context = Context(timeout=self.timeout)
        pvs = self.context.get_pvs(*names, timeout=connect_timeout)
        self.pvs = dict(zip(names, pvs, strict=True))
        deadline = time.monotonic() + connect_timeout
        missing = []
        for name, pv in self.pvs.items():
            try:
                pv.wait_for_connection(timeout=max(deadline - time.monotonic(), 0.01))
            except self._caproto_error:
                missing.append(name)
        if missing:
            self.close()
            shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
            raise MachineConnectionError(
                f"{len(missing)} of {len(names)} PVs of the machine at {address} were "
                f"not found within {connect_timeout} s ({shown}). Is the server running, "
                "with the same prefix, and does EPICS_CA_ADDR_LIST reach it?"
            )

    def _call(self, what: str, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except (self._caproto_error, OSError) as error:
            raise describe_error(self.address, what, error) from None

    def read(self, name: str, data_type: str = "native") -> Reading:
        """Read one PV (``data_type`` "native", "time", "status" or "control")."""
        response = self._call(
            f"reading {name}",
            lambda: self.pvs[name].read(data_type=data_type, timeout=self.timeout),
        )
        metadata = response.metadata
        stamp = getattr(metadata, "timestamp", None)
        return Reading(response.data, stamp, int(getattr(metadata, "status", 0)))

    def control(self, name: str) -> Any:
        """The control metadata of a PV (units, limits)."""
        return self._call(
            f"reading {name}",
            lambda: self.pvs[name].read(data_type="control", timeout=self.timeout),
        ).metadata

    def read_values(self, names: Sequence[str]) -> np.ndarray:
        """Scalar PVs as one float array."""
        return np.array([float(self.read(name).data[0]) for name in names])

    def read_stamped(self, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Scalar PVs and their time stamps (s)."""
        readings = [self.read(name, "time") for name in names]
        return (
            np.array([float(r.data[0]) for r in readings]),
            np.array([r.stamp for r in readings], dtype=float),
        )

    def read_text(self, name: str) -> str:
        """A string PV, or a char waveform holding a long string."""
        data = self.read(name).data
        if len(data) and isinstance(data[0], bytes):
            return data[0].decode(errors="replace")
        return (
            bytes(np.asarray(data, dtype=np.uint8))
            .split(b"\0")[0]
            .decode(errors="replace")
        )

    def write(
        self, name: str, value: Any, refusal: Callable[[str, Any], MachineError]
    ) -> None:
        """Write and wait for the machine's confirmation.

        Channel Access answers a refused write with an error the client does not wait
        for, so no confirmation within the timeout means refused or gone;
        ``refusal(name, value)`` tells which and returns the error to raise.
        """
        pv = self.pvs[name]
        data = [value] if np.ndim(value) == 0 else list(np.asarray(value, dtype=float))
        try:
            pv.write(data, wait=True, timeout=self.timeout)
        except self._caproto_error as error:
            if "did not respond" in str(error):
                raise refusal(name, value) from None
            raise describe_error(self.address, f"writing {name}", error) from None
        except OSError as error:
            raise describe_error(self.address, f"writing {name}", error) from None

    def image(self, names: MachinePVs, binning: int) -> np.ndarray:
        """The camera image (H, W) as float64, summed into blocks for a coarser binning."""
        width, height, served = (int(v) for v in self.read_values(names.image_shape))
        image = np.asarray(self.read(names.image).data, dtype=float)
        image = image[: width * height].reshape(height, width)
        if binning == served:
            return image
        if binning % served:
            raise ValueError(
                f"The machine serves its image at binning {served}; binning {binning} "
                f"is not a multiple of it."
            )
        factor = binning // served
        rows, columns = (r // binning for r in SCREEN_RESOLUTION[::-1])
        image = image[: rows * factor, : columns * factor]
        return image.reshape(rows, factor, columns, factor).sum(axis=(1, 3))

    def close(self) -> None:
        """Disconnect every PV."""
        try:
            self.context.disconnect()
        except Exception:  # noqa: BLE001 - closing a dead connection
            pass
