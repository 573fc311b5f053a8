"""Hessian's shared library.

Rooms, each with a narrow face:

- :mod:`hessian_common.chain`    compile, deploy and call the contracts over JSON-RPC
- :mod:`hessian_common.store`    content-addressed store (embedded or Kubo), verified reads
- :mod:`hessian_common.crypto`   Paillier keys and encrypted vectors
- :mod:`hessian_common.data`     Lending Club loading, schemas, generator, preprocessing
- :mod:`hessian_common.learning` encrypted affine updates, federated training, metrics
- :mod:`hessian_common.rewards`  reward mechanisms and contribution valuation

The apps (``company_app``, ``data_owner_app``) and the CLI (``hessian_cli``) are thin layers
over these.
"""

__version__ = "0.1.0"
