"""Paillier crypto: keys, encrypted vectors, sealed private keys (see :mod:`.paillier`)."""

from hessian_common.crypto.paillier import (
    DEFAULT_EXPONENT,
    DEFAULT_KEY_BITS,
    EncryptedVector,
    PrivateKey,
    PublicKey,
    decrypt_vector,
    encrypt_vector,
    fingerprint,
    generate_keypair,
    load_private_key,
    prepare_randomisers,
    private_key_from_encrypted_dict,
    private_key_to_encrypted_dict,
    public_key_from_dict,
    public_key_to_dict,
    save_private_key,
)

__all__ = [
    "DEFAULT_EXPONENT",
    "DEFAULT_KEY_BITS",
    "EncryptedVector",
    "PrivateKey",
    "PublicKey",
    "decrypt_vector",
    "encrypt_vector",
    "fingerprint",
    "generate_keypair",
    "load_private_key",
    "prepare_randomisers",
    "private_key_from_encrypted_dict",
    "private_key_to_encrypted_dict",
    "public_key_from_dict",
    "public_key_to_dict",
    "save_private_key",
]
