"""One exception root for Hessian, and a named class per failure.

Each class also subclasses the matching built-in, so callers that only know Python's
exceptions still catch them (``except ValueError`` catches a :class:`SchemaError`)::

    HessianError
    ├── ConfigError(ValueError)
    │   └── LendingInputError       (carries ``errors``: field -> message)
    ├── DataError(ValueError)
    │   ├── SchemaError
    │   └── UntrustedBlobError   (a stranger's blob: too large, too deep, malformed, out of bounds)
    ├── CryptoError
    │   └── KeyPassphraseError(ValueError)
    ├── StoreError
    │   ├── StoreUnavailable(ConnectionError)
    │   ├── StoreIntegrityError(ValueError)
    │   ├── BlobTooLarge(ValueError)
    │   └── BlobNotFound(KeyError)
    └── ChainError
        ├── ChainUnavailable(ConnectionError)
        ├── ContractRevert      (carries the decoded custom error name and arguments)
        └── DeploymentNotFound(LookupError)

Messages name what was wrong and where (file, row, column, CID, address) and never contain
secrets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class HessianError(Exception):
    """Root of every error Hessian raises on purpose."""


class ConfigError(HessianError, ValueError):
    """A configuration value (option, environment variable, config file) is invalid."""


class InputError(HessianError, ValueError):
    """Inputs a person typed (a form) or a caller passed are invalid; ``errors`` maps each
    field to its message. Raised before anything is written or sent."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


class TaskInputError(InputError, ConfigError):
    """The terms of a training task (:class:`~hessian_common.tasks.TaskParams`) are invalid:
    the lender's configuration of the task, so also a :class:`ConfigError`."""


class LendingInputError(InputError):
    """Inputs of a lending operation (a borrower's application, a decision, an action on a
    loan) are invalid. Not a :class:`ConfigError`: a borrower's form is not configuration."""


class PolicyInputError(LendingInputError, ConfigError):
    """A pricing policy (:class:`~hessian_common.lending.pricing.PricingPolicy`) is invalid:
    the lender's configuration of a deployment, so also a :class:`ConfigError`."""


class ApplicationAlreadySent(LendingInputError):
    """This very application (same digest) is already on chain for that model, as the
    sender's own loan ``loan_id`` (e.g. its transaction was mined but the answer was lost when
    the node went down)."""

    def __init__(self, model_id: int, loan_id: int):
        self.model_id, self.loan_id = int(model_id), int(loan_id)
        super().__init__(
            {"application": f"this application was already sent to model #{model_id} "
             f"(loan #{loan_id})"}
        )  # fmt: skip


class InsuranceInputError(ConfigError):
    """Inputs of an insurance operation (an application, a pricing policy, a quote) are
    invalid; ``errors`` maps each field to its message. Raised before anything is written or
    sent."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


class DataError(HessianError, ValueError):
    """Input data cannot be used; the message names the file, row and column."""


class SchemaError(DataError):
    """A schema file, or data checked against a schema, is invalid."""


class UntrustedBlobError(DataError):
    """A blob written by someone else (a store blob, an upload) cannot be used: too large,
    nested too deep, not JSON, wrong format, or a value out of bounds. The one error every
    reader of untrusted bytes raises (see :mod:`hessian_common.untrusted`)."""


class CryptoError(HessianError):
    """Paillier key or ciphertext problem (wrong key, malformed serialisation...)."""


class KeyPassphraseError(CryptoError, ValueError):
    """The passphrase does not open the encrypted private key."""


class StoreError(HessianError):
    """Content store failure."""


class StoreUnavailable(StoreError, ConnectionError):
    """The content store cannot be reached; nothing was written."""


class StoreIntegrityError(StoreError, ValueError):
    """Bytes read back do not hash to the CID they were asked for (tampering or corruption)."""


class BlobTooLarge(StoreError, ValueError):
    """The blob is larger than the reader allows; it was not read in full."""


class BlobNotFound(StoreError, KeyError):
    """No blob with that CID in the store."""

    __str__ = Exception.__str__  # KeyError would quote the message


class ChainError(HessianError):
    """Ethereum node or contract failure."""


class ChainUnavailable(ChainError, ConnectionError):
    """The JSON-RPC endpoint cannot be reached; no transaction was sent."""


class ContractRevert(ChainError):
    """A call or transaction reverted; ``name``/``args`` hold the decoded custom error."""

    def __init__(self, message: str, name: str | None = None, args: tuple[Any, ...] = ()):
        super().__init__(message)
        self.error_name = name
        self.error_args = args


class DeploymentNotFound(ChainError, LookupError):
    """No deployment record for this chain id (run ``hessian deploy`` first)."""


class InvalidCID(StoreError, ValueError):
    """Text that is not a CID this store can hold (malformed, CIDv0, or another codec/hash)."""


class JournalError(HessianError, RuntimeError):
    """The owner's submission journal refused an operation (unknown entry, illegal state
    change, duplicate)."""
