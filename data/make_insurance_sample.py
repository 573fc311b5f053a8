"""Write data/insurance_claims_sample.csv (seed 11, 400 policies) — run from the repo root."""

import csv

import numpy as np

rng = np.random.default_rng(11)
n = 400
age = rng.integers(18, 85, n)
veh = rng.choice(
    ["sedan", "suv", "truck", "sports", "van", ""], n, p=[0.45, 0.25, 0.12, 0.08, 0.06, 0.04]
)
region = rng.choice(["urban", "suburban", "rural"], n, p=[0.4, 0.4, 0.2])
lic = np.clip(age - 18 - rng.integers(0, 5, n), 0, None)
lic_txt = np.where(
    lic >= 10,
    "10+ years",
    np.where(lic < 1, "< 1 year", [f"{v} years" if v != 1 else "1 year" for v in lic]),
)
lic_txt = np.where(rng.random(n) < 0.03, "n/a", lic_txt)
prior = rng.poisson(0.3, n)
premium = np.round(
    np.exp(
        6.8
        + 0.3 * (veh == "sports")
        + 0.2 * (region == "urban")
        - 0.004 * (age - 40)
        + 0.3 * rng.standard_normal(n)
    ),
    2,
)
cov = rng.choice([50, 70, 80, 90, 100], n)
start = np.datetime64("2022-01-01") + rng.integers(0, 730, n).astype("timedelta64[D]")
reg = start - (rng.gamma(2.0, 3.0, n) * 365).astype("timedelta64[D]")
logit = (
    -1.6
    + 0.5 * (age < 25)
    + 0.4 * prior
    + 0.5 * (veh == "sports")
    + 0.3 * (region == "urban")
    - 0.03 * np.minimum(lic, 10)
    + 0.6 * rng.standard_normal(n)
)
claim = rng.random(n) < 1 / (1 + np.exp(-logit))
status = np.where(
    claim, np.where(rng.random(n) < 0.1, "Claimed - Total Loss", "Claimed"), "No Claim"
)
status = np.where(rng.random(n) < 0.04, "Open", status)
amount = np.where(claim, np.round(rng.gamma(2, 1500, n), 2), 0.0)
with open("data/insurance_claims_sample.csv", "w", newline="", encoding="utf-8") as fh:
    w = csv.writer(fh, lineterminator="\n")
    w.writerow(["Report generated 2024-03-01 by the policy system"])
    w.writerow(
        [
            "policy_id",
            "driver_age",
            "annual_premium",
            "coverage_ratio",
            "policy_term",
            "years_licensed",
            "prior_claims",
            "vehicle_type",
            "region",
            "vehicle_first_registered",
            "policy_start",
            "claim_status",
            "claim_amount",
            "claim_date",
        ]
    )
    for i in range(n):
        w.writerow(
            [
                f"P{100000 + i}",
                age[i],
                f"{premium[i]:.2f}",
                f"{cov[i]}%",
                "12 months",
                lic_txt[i],
                prior[i],
                veh[i],
                region[i],
                str(reg[i]),
                str(start[i]),
                status[i],
                f"{amount[i]:.2f}" if claim[i] else "",
                str(start[i] + 120) if claim[i] else "",
            ]
        )
    w.writerow([f"Total policies: {n}"])
