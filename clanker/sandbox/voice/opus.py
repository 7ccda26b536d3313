"""A minimal ctypes binding to libopus: encode and decode 20 ms frames of s16 PCM.

Only what the sandbox voice server needs: one encoder per simulated member, one decoder per
received stream, packet loss concealment (`decode(None)`) and in-band FEC. libopus comes from
Debian's `libopus0` (installed by `scripts/bootstrap`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from enum import IntEnum

SAMPLE_RATE = 48_000
FRAME_SAMPLES = 960  # 20 ms at 48 kHz, per channel
MAX_PACKET = 4_000
SILENCE_FRAME = b"\xf8\xff\xfe"
"""The Opus frame Discord asks senders to end a burst with (five times)."""


class Application(IntEnum):
    """libopus encoder applications."""

    VOIP = 2048
    AUDIO = 2049
    RESTRICTED_LOWDELAY = 2051


class OpusError(RuntimeError):
    """libopus is missing or returned an error."""


class _Encoder(ctypes.Structure):
    pass


class _Decoder(ctypes.Structure):
    pass


_EncoderP = ctypes.POINTER(_Encoder)
_DecoderP = ctypes.POINTER(_Decoder)
_int16_p = ctypes.POINTER(ctypes.c_int16)
_uchar_p = ctypes.POINTER(ctypes.c_ubyte)


@functools.cache
def _lib() -> ctypes.CDLL:
    name = ctypes.util.find_library("opus") or "libopus.so.0"
    try:
        lib = ctypes.CDLL(name)
    except OSError as exc:
        raise OpusError(
            f"cannot load libopus ({name}): {exc}. Install it with `apt-get install libopus0` "
            "(scripts/bootstrap does)"
        ) from exc
    lib.opus_strerror.restype = ctypes.c_char_p
    lib.opus_strerror.argtypes = [ctypes.c_int]
    lib.opus_encoder_create.restype = _EncoderP
    lib.opus_encoder_create.argtypes = [
        ctypes.c_int32,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.POINTER(ctypes.c_int),
    ]
    lib.opus_encode.restype = ctypes.c_int32
    lib.opus_encode.argtypes = [_EncoderP, _int16_p, ctypes.c_int, _uchar_p, ctypes.c_int32]
    lib.opus_encoder_destroy.restype = None
    lib.opus_encoder_destroy.argtypes = [_EncoderP]
    lib.opus_decoder_create.restype = _DecoderP
    lib.opus_decoder_create.argtypes = [ctypes.c_int32, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
    lib.opus_decode.restype = ctypes.c_int
    lib.opus_decode.argtypes = [
        _DecoderP,
        _uchar_p,
        ctypes.c_int32,
        _int16_p,
        ctypes.c_int,
        ctypes.c_int,
    ]
    lib.opus_decoder_destroy.restype = None
    lib.opus_decoder_destroy.argtypes = [_DecoderP]
    lib.opus_get_version_string.restype = ctypes.c_char_p
    lib.opus_get_version_string.argtypes = []
    return lib


def version() -> str:
    """libopus's version string, e.g. `libopus 1.3.1`."""
    return bytes(_lib().opus_get_version_string()).decode()


def _check(code: int, what: str) -> int:
    if code < 0:
        message = bytes(_lib().opus_strerror(code)).decode()
        raise OpusError(f"{what} failed: {message} ({code})")
    return code


class OpusEncoder:
    """Encodes 20 ms frames of interleaved s16 PCM at 48 kHz."""

    def __init__(self, channels: int = 2, application: Application = Application.AUDIO) -> None:
        if channels not in (1, 2):
            raise ValueError(f"Opus encodes 1 or 2 channels, got {channels}")
        self.channels = channels
        error = ctypes.c_int(0)
        handle = _lib().opus_encoder_create(SAMPLE_RATE, channels, int(application), error)
        _check(error.value, "opus_encoder_create")
        self._handle = handle
        self._out = (ctypes.c_ubyte * MAX_PACKET)()

    def encode(self, pcm: bytes) -> bytes:
        """One Opus packet from exactly 960 samples per channel of s16le interleaved PCM."""
        expected = FRAME_SAMPLES * self.channels * 2
        if len(pcm) != expected:
            raise ValueError(
                f"an Opus frame needs {expected} bytes ({FRAME_SAMPLES} samples x "
                f"{self.channels} channels x 2 bytes), got {len(pcm)}"
            )
        samples = (ctypes.c_int16 * (FRAME_SAMPLES * self.channels)).from_buffer_copy(pcm)
        size = _check(
            _lib().opus_encode(self._handle, samples, FRAME_SAMPLES, self._out, MAX_PACKET),
            "opus_encode",
        )
        return bytes(self._out[:size])

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle:
            _lib().opus_encoder_destroy(handle)
            self._handle = None


class OpusDecoder:
    """Decodes Opus packets to interleaved s16 PCM at 48 kHz."""

    def __init__(self, channels: int = 2) -> None:
        if channels not in (1, 2):
            raise ValueError(f"Opus decodes to 1 or 2 channels, got {channels}")
        self.channels = channels
        error = ctypes.c_int(0)
        handle = _lib().opus_decoder_create(SAMPLE_RATE, channels, error)
        _check(error.value, "opus_decoder_create")
        self._handle = handle
        # Up to 120 ms per packet.
        self._max_samples = SAMPLE_RATE * 120 // 1000
        self._pcm = (ctypes.c_int16 * (self._max_samples * channels))()

    def decode(self, packet: bytes | None, *, fec: bool = False) -> bytes:
        """PCM for one packet; `None` conceals one lost 20 ms frame (PLC); `fec=True` decodes
        the previous frame from this packet's in-band FEC data."""
        if packet is None:
            data, length, frames = None, 0, FRAME_SAMPLES
        else:
            data = (ctypes.c_ubyte * len(packet)).from_buffer_copy(packet)
            length, frames = len(packet), FRAME_SAMPLES if fec else self._max_samples
        samples = _check(
            _lib().opus_decode(
                self._handle,
                ctypes.cast(data, _uchar_p) if data is not None else None,
                length,
                self._pcm,
                frames,
                int(fec),
            ),
            "opus_decode",
        )
        return bytes(memoryview(self._pcm).cast("B")[: samples * self.channels * 2])

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle:
            _lib().opus_decoder_destroy(handle)
            self._handle = None
