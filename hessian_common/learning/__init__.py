"""Encrypted learning: affine update rules, protocol blobs, metrics, in-process federation.

Faces (see ``docs/architecture.md``, "learning")::

    from hessian_common.learning.updates import AffineUpdate, build_update, gradient_step, \
        local_epochs, proximal_newton, naive_encrypted_gradient_step, DPConfig, fit_taylor
    from hessian_common.learning.spec import ModelSpec, EncryptedModel, UpdateBlob
    from hessian_common.learning.metrics import score, score_weights, predict_proba
    from hessian_common.learning.federated import run_federated, centralized_baseline, \
        evaluate_candidate, StepContext, step_context
    from hessian_common.learning.prior import CurvaturePrior, initial_model, prior_of
"""
