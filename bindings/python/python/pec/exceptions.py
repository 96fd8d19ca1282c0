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
import re
from typing import Optional


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
    "EngineError",
    "InternalError",
]

class Code(enum.IntEnum):
    """Every stable code of ``pec_core::Code`` (``Code.MALFORMED_MESSAGE == 200``): the
    numbers of the C ABI's ``pec_result`` and Perl's ``Mail::PEC::Error``.

    Written out so type checkers see the members; the test suite checks it against the
    extension's table (``pec._rust.CODES``), so the two cannot drift apart.
    """

    OK = 0
    NULL_PARAMETER = 100
    PANIC = 101
    INSUFFICIENT_SIZE = 102
    INVALID_PARAMETER = 103
    INVALID_UTF8 = 104
    IO = 105
    MALFORMED_MESSAGE = 200
    TRUNCATED = 201
    LIMIT_EXCEEDED = 202
    BAD_ENCODING = 203
    DATICERT_MALFORMED = 204
    DATICERT_INVALID = 205
    HEADER_INJECTION = 206
    INVALID_ADDRESS = 207
    INVALID_TIME = 208
    MISSING_PART = 209
    NO_SIGNATURE = 300
    MALFORMED_SIGNATURE = 301
    CONTENT_MISMATCH = 302
    BAD_SIGNATURE = 303
    UNSUPPORTED_ALGORITHM = 304
    SIGNING_FAILED = 305
    SIGNING_TIME_IN_FUTURE = 306
    PARTIALLY_SIGNED = 307
    HEADER_MISMATCH = 308
    UNTRUSTED_CHAIN = 400
    EXPIRED = 401
    NOT_YET_VALID = 402
    REVOKED = 403
    REVOCATION_UNKNOWN = 404
    BAD_CERTIFICATE = 405
    BAD_CRL = 406
    BAD_KEY = 407
    PKCS11_MODULE = 500
    PKCS11_TOKEN_NOT_FOUND = 501
    PKCS11_KEY_NOT_FOUND = 502
    PKCS11_PIN_INCORRECT = 503
    PKCS11_FAILURE = 504
    PKCS11_SESSION = 505
    PKCS11_URI = 506
    LDIF_MALFORMED = 600
    LDAP_CONNECT = 601
    LDAP_TIMEOUT = 602
    LDAP_SEARCH = 603
    INDEX_SIGNATURE = 604
    NOT_IN_INDEX = 605
    FROM_DOMAIN_MISMATCH = 606
    DATICERT_MISMATCH = 607
    UNKNOWN_KIND = 700
    MISSING_INPUT = 701
    WRONG_INPUT = 702
    FORMAL_CHECKS = 703
    PROVIDER_CONFIG = 704
    ENGINE_STORE = 800
    ENGINE_CONFIG = 801


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


_OS_ERROR = re.compile(r"^i/o error on (?P<path>.*): (?P<strerror>.*) \(os error (?P<errno>\d+)\)$", re.S)


class FileError(PecError, OSError):
    """A file named by the caller could not be read.

    Like :class:`OSError` it carries ``errno`` (``errno.ENOENT``...), ``strerror`` and
    ``filename`` (``None`` when the operating system gave no number); ``str(e)`` stays the
    library's message and ``code`` is ``Code.IO``.
    """

    errno: Optional[int]
    strerror: Optional[str]
    filename: Optional[str]

    def __init__(
        self,
        message: str,
        code: int = 105,
        name: str = "io",
        errno: Optional[int] = None,
        filename: Optional[str] = None,
    ) -> None:
        super().__init__(message, code, name)
        m = _OS_ERROR.match(message)
        self.errno = errno if errno is not None else (int(m["errno"]) if m else None)
        self.strerror = m["strerror"] if m else None
        self.filename = filename if filename is not None else (m["path"] if m else None)

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __reduce__(  # type: ignore[override]
        self,
    ) -> tuple[type[FileError], tuple[str, int, str, Optional[int], Optional[str]]]:
        return (type(self), (str(self), self.code, self.name, self.errno, self.filename))


class EngineError(PecError):
    """The provider engine (:class:`pec.Engine`) failed outside the message itself: its state
    store is unavailable, locked or failed to commit (``Code.ENGINE_STORE``: temporary, nothing
    was committed; answer the MTA 451 so that it retries) or its configuration is invalid
    (``Code.ENGINE_CONFIG``). Signing failures are :class:`HsmError` / :class:`SignatureError`
    (temporary too)."""

    @property
    def temporary(self) -> bool:
        """Whether the MTA should retry later (the store was unavailable)."""
        return self.code == Code.ENGINE_STORE


class InternalError(PecError):
    """A bug in pec (a Rust panic was caught at the boundary): please report it."""
