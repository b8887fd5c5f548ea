"""Which errors mean "the database or broker is not answering right now" rather than "this
event can never be handled". The first kind is waited out (the batch is read again later);
only the second is retried a few times and then dead-lettered. An event is never
dead-lettered because the infrastructure hiccupped."""

from __future__ import annotations

from aiokafka.errors import KafkaError, KafkaTimeoutError
from pymongo.errors import (
    BulkWriteError,
    ConnectionFailure,
    ExecutionTimeout,
    OperationFailure,
    PyMongoError,
    WriteConcernError,
)

# MongoDB server codes of a node shutting down, stepping down, or out of time.
TRANSIENT_CODES = frozenset(
    {
        6,  # HostUnreachable
        7,  # HostNotFound
        50,  # MaxTimeMSExpired
        89,  # NetworkTimeout
        91,  # ShutdownInProgress
        189,  # PrimarySteppedDown
        262,  # ExceededTimeLimit
        9001,  # SocketException
        10107,  # NotWritablePrimary
        11600,  # InterruptedAtShutdown
        11602,  # InterruptedDueToReplStateChange
        13435,  # NotPrimaryNoSecondaryOk
        13436,  # NotPrimaryOrSecondary
    }
)
# FerretDB's SQLite backend answers a busy database file with a generic error and this text.
TRANSIENT_MESSAGES = ("database is locked", "sqlite_busy", "connection reset", "broken pipe")
TRANSIENT_LABELS = ("RetryableWriteError", "TransientTransactionError", "NetworkError")


def is_transient(error: BaseException) -> bool:
    if isinstance(error, ConnectionFailure | ExecutionTimeout | WriteConcernError):
        return True
    if isinstance(error, KafkaTimeoutError):
        return True
    if isinstance(error, KafkaError):
        return bool(getattr(error, "retriable", False))
    if isinstance(error, BulkWriteError):
        failures = error.details.get("writeErrors", []) if error.details else []
        return bool(failures) and all(f.get("code") in TRANSIENT_CODES for f in failures)
    if isinstance(error, PyMongoError) and any(
        error.has_error_label(label) for label in TRANSIENT_LABELS
    ):
        return True
    if isinstance(error, OperationFailure):
        message = str(error).lower()
        return error.code in TRANSIENT_CODES or any(t in message for t in TRANSIENT_MESSAGES)
    if isinstance(error, ConnectionError | TimeoutError):
        return True  # a socket refused or timed out below the drivers
    cause = error.__cause__  # `raise X from pymongo_error` keeps its nature
    return cause is not None and cause is not error and is_transient(cause)
