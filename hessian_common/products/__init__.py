"""What the two products (loans, insurance) share once a closed model is deployed.

:mod:`.desk`: :class:`~.desk.ProductDesk`, the base of the lender's
:class:`~hessian_common.lending.desk.LendingDesk` and the insurer's
:class:`~hessian_common.insurance.underwriting.InsuranceDesk` (private deployment files,
the deployability check, decrypting the closed model, publishing the public policy
document, opening a sealed application against the chain's digest).
:mod:`.training`: one encrypted update per owner file, evaluated and closed, in one process
(the demo's deployed models and the insurance simulation).
"""
