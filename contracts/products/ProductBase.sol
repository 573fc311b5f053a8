// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import "../ModelRepository.sol";
import "../Payments.sol";

/// @title ProductBase: what Hessian's product contracts share (LoanBook, PolicyBook)
/// @notice A product contract is where a trained model earns its keep: a party that
/// commissioned a model on the {ModelRepository} (a lender, an insurer: the model's `lender`
/// there, its *deployer* here) deploys it once it is CLOSED, naming
///   - a public policy document (its CID, emitted in {ModelDeployed}),
///   - an X25519 `applicationKey` applicants seal their applications to, and
///   - the deployment's currency (`address(0)` = ether, else an ERC-20 token; every amount of
///     the deployment is in that currency's base units, whatever its decimals).
/// Applicants then send *sealed applications*: the SHA-256 digest of the canonical plaintext
/// on chain, the sealed file off chain (its CID in the product's event). A digest counts once
/// per (model, applicant): {digestUsedBy}; someone who copies an applicant's pending digest
/// cannot block the applicant's own application (and the sealed application names its
/// applicant, which the deployer checks). The deployer records each *decision* with the
/// model's probability in parts per million (`<= PPM`, else {PdOutOfRange}: the probability
/// of default for a loan, of a claim for a policy). Money moves by pull payments
/// ({Payments}): credited per (account, currency), pulled with {withdraw}(currency); money in
/// is taken exactly ({Payments-_take}: ether as `msg.value`, a token by `transferFrom`,
/// optionally after an EIP-2612 permit; fee-on-transfer tokens refused with {ShortTransfer}).
///
/// The inheriting product adds its own records (loans, policies), events and life cycle; it
/// names the error a caller that is not the deployer gets ({_revertNotDeployer}: `NotLender`,
/// `NotInsurer`).
abstract contract ProductBase is Payments {
    /// @notice A deployed model (its policy CID is in {ModelDeployed}). `inToken` repeats
    /// `currency != address(0)` in slot 0, which every call reads anyway (the deployer), so
    /// that the ether path never reads slot 2.
    struct Deployment {
        // slot 0
        address deployer;
        uint48 deployedAt;
        bool active;
        uint32 applicationCount;
        bool inToken;
        // slot 1
        bytes32 applicationKey;
        // slot 2
        address currency;
    }

    /// @notice One in parts per million: the largest probability a decision records.
    uint32 public constant PPM = 1_000_000;

    /// @notice The ModelRepository whose closed models can be deployed here.
    ModelRepository public immutable repository;

    mapping(uint256 => Deployment) internal _deployments;
    /// model id => keccak256(applicant, application digest) => record id that used it (0: never)
    mapping(uint256 => mapping(bytes32 => uint256)) private _digestUsedBy;

    /// @notice `deployer` deployed a closed model, in `currency`, with its policy document at
    /// `policyCid` and applications sealed to `applicationKey`.
    event ModelDeployed(
        uint256 indexed modelId,
        address indexed deployer,
        address indexed currency,
        string policyCid,
        bytes32 applicationKey
    );
    /// @notice The model takes no new applications (what it decided goes on).
    event ModelRetired(uint256 indexed modelId);

    /// @notice A constructor parameter is zero.
    error ZeroParameter(string name);
    /// @notice Only CLOSED models can be deployed.
    error ModelNotClosed(uint256 modelId);
    /// @notice The model is already deployed.
    error AlreadyDeployed(uint256 modelId);
    /// @notice The model was never deployed here.
    error ModelNotDeployed(uint256 modelId);
    /// @notice The model is retired: no new applications.
    error ModelNotActive(uint256 modelId);
    /// @notice A CID argument is empty.
    error EmptyCid();
    /// @notice The application key is zero.
    error ZeroKey();
    /// @notice The application digest is zero.
    error ZeroDigest();
    /// @notice An amount is zero.
    error ZeroAmount();
    /// @notice This applicant already used this application digest for this model (in record
    /// `id`).
    error DuplicateApplication(uint256 modelId, bytes32 applicationDigest, uint256 id);
    /// @notice A decision's probability (of default, of a claim) above PPM.
    error PdOutOfRange(uint256 pdPpm);
    /// @notice An amount does not fit in its storage field.
    error ValueTooLarge(uint256 value, uint256 max);

    /// @param repository_ The ModelRepository whose models are deployed here.
    constructor(address repository_) {
        if (repository_ == address(0)) revert ZeroParameter("repository");
        repository = ModelRepository(repository_);
    }

    // ------------------------------------------------------------------ deployer

    /// @notice Deploy a CLOSED model of the caller's (its `lender` on the repository).
    /// @param modelId The ModelRepository model.
    /// @param policyCid CID of the public policy document (lending policy, insurance terms).
    /// @param applicationKey X25519 public key applications are sealed to.
    /// @param currency `address(0)` for ether, else an ERC-20 token (a contract): every
    /// amount of this deployment is in its base units.
    /// Emits a {ModelDeployed} event.
    function deployModel(
        uint256 modelId,
        string calldata policyCid,
        bytes32 applicationKey,
        address currency
    ) external {
        ModelRepository.Model memory m = repository.getModel(modelId);
        if (msg.sender != m.lender) _revertNotDeployer(msg.sender, m.lender);
        if (m.status != ModelRepository.ModelStatus.CLOSED) revert ModelNotClosed(modelId);
        Deployment storage d = _deployments[modelId];
        if (d.deployer != address(0)) revert AlreadyDeployed(modelId);
        if (bytes(policyCid).length == 0) revert EmptyCid();
        if (applicationKey == bytes32(0)) revert ZeroKey();
        if (currency != ETH && currency.code.length == 0) revert NotAToken(currency);
        d.deployer = msg.sender;
        d.deployedAt = uint48(block.timestamp);
        d.active = true;
        d.applicationKey = applicationKey;
        if (currency != ETH) {
            d.inToken = true;
            d.currency = currency;
        }
        emit ModelDeployed(modelId, msg.sender, currency, policyCid, applicationKey);
    }

    /// @notice Stop a deployed model taking applications; what it decided goes on.
    /// Emits a {ModelRetired} event.
    function retireModel(uint256 modelId) external {
        Deployment storage d = _deployment(modelId);
        if (msg.sender != d.deployer) _revertNotDeployer(msg.sender, d.deployer);
        if (!d.active) revert ModelNotActive(modelId);
        d.active = false;
        emit ModelRetired(modelId);
    }

    // ------------------------------------------------------------------ views

    /// @notice A deployment (deployer == 0: the model is not deployed here).
    function getDeployment(uint256 modelId) external view returns (Deployment memory) {
        return _deployments[modelId];
    }

    /// @notice The currency of a deployed model (`address(0)`: ether).
    function currencyOf(uint256 modelId) external view returns (address) {
        return _currency(_deployment(modelId));
    }

    /// @notice Id of `applicant`'s record that used `applicationDigest` for `modelId`
    /// (0: unused).
    function digestUsedBy(
        uint256 modelId,
        address applicant,
        bytes32 applicationDigest
    ) external view returns (uint256) {
        return _digestUsedBy[modelId][keccak256(abi.encode(applicant, applicationDigest))];
    }

    // ------------------------------------------------------------------ for the products

    /// Revert with the product's own "not the deployer" error (`NotLender`, `NotInsurer`).
    function _revertNotDeployer(address caller, address deployer) internal pure virtual;

    /// The deployment of `modelId`; reverts {ModelNotDeployed} if there is none.
    function _deployment(uint256 modelId) internal view returns (Deployment storage d) {
        d = _deployments[modelId];
        if (d.deployer == address(0)) revert ModelNotDeployed(modelId);
    }

    /// The deployment of `modelId` if it takes applications ({ModelNotActive} otherwise).
    function _activeDeployment(uint256 modelId) internal view returns (Deployment storage d) {
        d = _deployment(modelId);
        if (!d.active) revert ModelNotActive(modelId);
    }

    /// Record the caller's sealed application `applicationDigest` (at `applicationCid`) to
    /// the active deployment `d` of `modelId` as record `id`: the digest is non-zero, the CID
    /// non-empty, and the digest not used by the caller for this model before.
    function _recordApplication(
        Deployment storage d,
        uint256 modelId,
        bytes32 applicationDigest,
        string calldata applicationCid,
        uint256 id
    ) internal {
        if (applicationDigest == bytes32(0)) revert ZeroDigest();
        if (bytes(applicationCid).length == 0) revert EmptyCid();
        bytes32 key = keccak256(abi.encode(msg.sender, applicationDigest));
        uint256 usedBy = _digestUsedBy[modelId][key];
        if (usedBy != 0) revert DuplicateApplication(modelId, applicationDigest, usedBy);
        _digestUsedBy[modelId][key] = id;
        d.applicationCount += 1;
    }

    /// The currency of deployment `d` (reads slot 2 only for a token).
    function _currency(Deployment storage d) internal view returns (address) {
        return d.inToken ? d.currency : ETH;
    }

    /// A decision's probability must be at most PPM.
    function _checkProbability(uint256 pdPpm) internal pure {
        if (pdPpm > PPM) revert PdOutOfRange(pdPpm);
    }

    /// Take `amount` of `d`'s currency from the caller: ether as `msg.value` (exactly), a
    /// token by `transferFrom` after the caller's permit `p` if it has a deadline (see
    /// {Payments-_permit}); the amount must arrive whole ({ShortTransfer}).
    function _takeWithPermit(Deployment storage d, uint256 amount, Permit calldata p) internal {
        address currency = _currency(d);
        _permit(currency, msg.sender, p);
        _take(currency, msg.sender, amount);
    }
}
