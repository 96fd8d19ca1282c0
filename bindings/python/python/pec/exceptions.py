"""Exceptions raised by :mod:`pec`.

Every error carries the stable numeric ``code`` and its ``name`` from the one code table of
the project (``pec_core::Code``): the C ABI (``pec_result``), Python and Perl expose the same
numbers. The class says the area; the code says exactly what went wrong::

    try:
        pec.parse(data)
    except pec.ParseError as e:
        print(e.code, e.name)    # 200 malformed_message

Verification *findings* (bad signature, revoked, expired...) are not exceptions: they are the
``reasons`` of the report :func:`pec.verify` returns.
"""

from __future__ import annotations

import enum

from pec import _rust

__all__ = [
    "Code",
    "PecError",
    "ParseError",
    "SignatureError",
    "CertificateError",
    "HsmError",
    "DirectoryError",
    "BuildError",
    "InvalidArgumentError",
    "FileError",
    "InternalError",
]

#: Every stable code, as an :class:`enum.IntEnum` (``Code.MALFORMED_MESSAGE == 200``).
Code = enum.IntEnum(  # type: ignore[misc]
    "Code", [(name.upper(), number) for name, number in _rust.CODES]
)


class PecError(Exception):
    """Base class of every error of :mod:`pec`.

    ``code`` is the stable number (identical to the C ABI's ``pec_result``), ``name`` its
    snake_case name (``"malformed_message"``); ``str(e)`` is the human-readable message.
    """

    code: int
    name: str

    def __init__(self, message: str, code: int = 103, name: str = "invalid_parameter") -> None:
        super().__init__(message)
        self.code = code
        self.name = name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r}, code={self.code}, name={self.name!r})"

    def __reduce__(self) -> tuple[type[PecError], tuple[str, int, str]]:
        # keeps code and name through pickle (multiprocessing, concurrent.futures)
        return (type(self), (str(self), self.code, self.name))


class ParseError(PecError, ValueError):
    """The message (or its ``daticert.xml``) is malformed, or a hostile-input limit was hit.

    Ordinary non-PEC mail is *not* an error: :func:`pec.parse` returns it with ``kind None``.
    """


class SignatureError(PecError):
    """A CMS structure could not be processed, or signing failed."""


class CertificateError(PecError, ValueError):
    """A certificate, private key, CRL or trust anchor could not be loaded."""


class HsmError(PecError):
    """PKCS#11 (HSM) failure: module, token, key, PIN or session."""


class DirectoryError(PecError):
    """Providers index failure: malformed LDIF, LDAP unreachable or timed out."""


class BuildError(PecError, ValueError):
    """An envelope, receipt or notice could not be built from the given inputs."""


class InvalidArgumentError(PecError, ValueError):
    """An argument has a value the library does not accept."""


class FileError(PecError, OSError):
    """A file named by the caller could not be read."""


class InternalError(PecError):
    """A bug in pec (a Rust panic was caught at the boundary): please report it."""
