"""The applicant population the model is anchored on, and an applicant's standing in it.

A program's published interview rate for non-US IMGs is the expected rate of a non-US IMG
drawn at random from its applicants. So the model is anchored on the *population* of
applicants (`params/population.yaml`: Step 2 CK, hands-on USCE, observerships, US letters,
publications, years since graduation, attempts, Step 3, visa need, applications, per group),
not on one "typical" person: the population reproduces the published rates, and a person's
standing moves them up or down from there.

**Groups** are by citizenship, as NRMP counts applicants: `us_img` for US citizens (the
profile says so), `non_us_img` otherwise (a profile without citizenship included). A visa need is a
barrier on top of the group (`analysis.model.probability`), never a group: needing no visa
never lowers a chance.

**Standing** of applicant a for specialty s (group g)::

    x_a = sum_k beta_k (h_k(a) - E_pop[h_k])

with the features h_k: Step 2 CK against the group's level for the specialty (piecewise
linear, half the slope past the knee), hands-on USCE 1 - exp(-(months + w obs) / scale),
US letters in the specialty (cumulative marginal values), research log(1 + publications +
first-author + posters / 2), attempts (a first extra attempt, then each more), years since
graduation past the free years, Step 3 passed. The effects beta_k (central value and range)
are in `params/probability.yaml`; E_pop is the population mean, so the population's average
applicant has x = 0.

**Step 2 CK levels**: the 2024 US MD senior applicants' mean per specialty (matched and
unmatched, weighted by their counts; NRMP Charting Outcomes) minus the group's offset (an
assumption with a range); pathology and emergency medicine, missing in 2024, are placed
relative to Internal Medicine by their 2013 means of matched non-US IMGs.

**Intercepts**: alpha_sg is solved so that the population's average interview chance over
the reference distribution of programs (a share 1 - z0 open, openness u ~ Normal(0, 1),
unknown screens at their expected effect) equals the reference mean rate exactly:

    (1 - z0) E_u E_pop[ pass(a) sigmoid(alpha + tau_a u + x_a - friction_a) ] = mean rate

where tau_a = tau c is the program spread on a person's scale (c = sqrt(1 + pi var(x)/8),
the probit approximation: published rates average over applicants, which flattens them).

**Standing uncertainty** (for the 80% interval): each effect's range is read as a central
80% range of a normal; sd(x_a)^2 = sum_k (sigma_k (h_k(a) - E h_k))^2 + (beta_step2 sigma_offset)^2
+ sigma_alpha^2: a profile far from the population's mean on an uncertain effect gets a wider
interval than one near it.

Known limits: the distributions are judgement informed by public figures (each says which);
features are treated as independent within a group; the population is the same for every
specialty apart from the Step 2 CK level and the letters (letters are counted in the
specialty applied to).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from analysis.config import load_params, reference_table
from analysis.data.reference import interview_fit, sigmoid
from analysis.data.schemas import ApplicantProfile

GROUPS = ("non_us_img", "us_img")
FEATURES = (
    "step2",
    "usce",
    "observership",
    "letters",
    "research",
    "attempts_first",
    "attempts_more",
    "graduation",
    "step3",
)
_US_NAMES = {
    "us",
    "usa",
    "unitedstates",
    "unitedstatesofamerica",
    "american",
    "uscitizen",
    "unitedstatescitizen",
    "americancitizen",
}
"""Spellings of US citizenship, lower-case with everything but letters removed."""
_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(40)
_GH_WEIGHTS = _GH_WEIGHTS / _GH_WEIGHTS.sum()


def population_params() -> dict[str, Any]:
    """The documented population (`params/population.yaml`)."""
    return load_params("population")


def effect_params() -> dict[str, Any]:
    """The documented effects with ranges (`params/probability.yaml`, `effects`)."""
    return load_params("probability")["effects"]


def group_of(citizenship: str | None, visa_needed: str = "j1") -> str:
    """'us_img' when the citizenship given is the United States, else 'non_us_img'.

    A profile without citizenship is read as a non-US citizen (the project's main users),
    whatever its visa need, so that needing no visa only ever removes barriers; US citizens
    say `citizenship: United States`. `visa_needed` is accepted for symmetry and unused.
    """
    del visa_needed
    if citizenship is not None and re.sub(r"[^a-z]", "", citizenship.lower()) in _US_NAMES:
        return "us_img"
    return "non_us_img"


def profile_group(applicant: ApplicantProfile) -> str:
    """The reference group of a profile (see `group_of`)."""
    return group_of(applicant.citizenship, applicant.visa_needed)


# --------------------------------------------------------------------------- Step 2 CK levels


@functools.cache
def _md_applicant_means() -> dict[str, float]:
    """2024 US MD senior applicants' mean Step 2 CK per specialty (derived as documented)."""
    rows = {
        r["specialty"]: r for r in reference_table("step2ck_by_specialty").iter_rows(named=True)
    }
    out: dict[str, float] = {}
    for code, r in rows.items():
        if r["md_senior_2024_matched_mean_step2ck"] is not None:
            n_m, n_u = r["md_senior_2024_matched_n"], r["md_senior_2024_unmatched_n"]
            matched = r["md_senior_2024_matched_mean_step2ck"]
            unmatched = r["md_senior_2024_unmatched_mean_step2ck"]
            out[code] = (n_m * matched + n_u * unmatched) / (n_m + n_u)
    im_2013 = rows["IM"]["non_us_img_matched_2013_mean_step2ck"]
    for code, r in rows.items():
        value = r["non_us_img_matched_2013_mean_step2ck"]
        if code not in out and value is not None:
            out[code] = out["IM"] + value - im_2013
    return out


def step2_level(specialty: str, group: str, offset: float | None = None) -> float:
    """Mean Step 2 CK of the group's applicants to a specialty (see the module docstring)."""
    p = population_params()["step2"]
    means = _md_applicant_means()
    code = specialty if specialty in means else p["stand_ins"].get(specialty, "IM")
    base = means.get(code, means["IM"])
    return float(base - (p["offset"][group] if offset is None else offset))


# --------------------------------------------------------------------------- applicant arrays


@dataclass
class ApplicantArrays:
    """Applicant facts as numpy arrays (one entry per applicant), for vectorized scoring."""

    ids: list[str]
    group: np.ndarray
    visa_needed: np.ndarray
    step2: np.ndarray
    usce: np.ndarray
    observership: np.ndarray
    publications: np.ndarray
    first_author: np.ndarray
    posters: np.ndarray
    attempts: np.ndarray
    years_since_graduation: np.ndarray
    step3: np.ndarray
    letters: dict[str, np.ndarray]

    @classmethod
    def from_profiles(cls, profiles: Sequence[ApplicantProfile]) -> ApplicantArrays:
        """Stack profiles (the per-applicant loop here is over applicants, outside hot paths)."""
        letters: dict[str, np.ndarray] = {}
        for i, a in enumerate(profiles):
            for s, n in a.us_letters.items():
                letters.setdefault(s, np.zeros(len(profiles)))[i] = n

        def column(values: list[Any], dtype: Any = float) -> np.ndarray:
            return np.array(values, dtype=dtype)

        return cls(
            ids=[a.applicant_id for a in profiles],
            group=column([profile_group(a) for a in profiles], object).astype(str),
            visa_needed=column([a.visa_needed for a in profiles], object).astype(str),
            step2=column([a.step2_for_model for a in profiles]),
            usce=column([a.usce_months for a in profiles]),
            observership=column([a.observership_months for a in profiles]),
            publications=column([a.research.publications for a in profiles]),
            first_author=column([a.research.first_author for a in profiles]),
            posters=column([a.research.posters for a in profiles]),
            attempts=column([a.max_attempts for a in profiles]),
            years_since_graduation=column([a.years_since_graduation() for a in profiles]),
            step3=column([a.step3_passed for a in profiles], bool),
            letters=letters,
        )

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, idx: np.ndarray) -> ApplicantArrays:
        """The applicants at positions `idx`."""
        return ApplicantArrays(
            ids=[self.ids[i] for i in idx],
            group=self.group[idx],
            visa_needed=self.visa_needed[idx],
            step2=self.step2[idx],
            usce=self.usce[idx],
            observership=self.observership[idx],
            publications=self.publications[idx],
            first_author=self.first_author[idx],
            posters=self.posters[idx],
            attempts=self.attempts[idx],
            years_since_graduation=self.years_since_graduation[idx],
            step3=self.step3[idx],
            letters={s: v[idx] for s, v in self.letters.items()},
        )

    def letters_in(self, specialty: str) -> np.ndarray:
        """US letters that count for a specialty per applicant (related ones at their weight)."""
        total = np.zeros(len(self.ids))
        for s in letter_specialties(specialty):
            total = total + letter_weight(specialty, s) * self.letters.get(s, 0.0)
        return total


def letter_specialties(specialty: str) -> tuple[str, ...]:
    """The specialty and those whose letters count for it (`effects.letters.related`)."""
    related = effect_params()["letters"].get("related", {}).get(specialty, [])
    return (specialty, *related)


def letter_weight(for_specialty: str, letter_specialty: str) -> float:
    """How much a letter in `letter_specialty` counts for `for_specialty` (1, related, or 0)."""
    if letter_specialty == for_specialty:
        return 1.0
    if letter_specialty in letter_specialties(for_specialty):
        return float(effect_params()["letters"].get("related_weight", 1.0))
    return 0.0


def letters_value(n: np.ndarray) -> np.ndarray:
    """Cumulative log-odds of n letters (piecewise linear in n, flat past the last marginal)."""
    cumulative = np.cumsum([0.0, *effect_params()["letters"]["marginal"]])
    return np.interp(np.asarray(n, dtype=float), np.arange(cumulative.size), cumulative)


# --------------------------------------------------------------------------- sampling


def _draw(rng: np.random.Generator, shares: dict[Any, float], n: int) -> np.ndarray:
    values = np.array([float(k) if _is_number(k) else k for k in shares], dtype=object)
    p = np.array(list(shares.values()), dtype=float)
    return values[rng.choice(len(values), size=n, p=p / p.sum())]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def draw_step2(rng: np.random.Generator, level: float, size: int) -> np.ndarray:
    """Whole Step 2 CK scores ~ Normal(level, sd) kept within [floor, ceiling] (population.yaml).

    A truncated normal by redrawing the few scores outside (the tails are a few percent).
    """
    s2 = population_params()["step2"]
    step2 = rng.normal(level, s2["sd"], size)
    for _ in range(100):
        bad = (step2 < s2["floor"]) | (step2 > s2["ceiling"])
        if not bad.any():
            break
        step2[bad] = rng.normal(level, s2["sd"], int(bad.sum()))
    return np.clip(np.round(step2), s2["floor"], s2["ceiling"])


def sample_population(
    group: str, specialty: str, size: int, seed: int, *, offset: float | None = None
) -> ApplicantArrays:
    """`size` applicants of a group to a specialty, drawn from `params/population.yaml`."""
    pop = population_params()
    spec = pop["groups"][group]
    rng = np.random.default_rng(seed)
    step2 = draw_step2(rng, step2_level(specialty, group, offset), size)
    return ApplicantArrays(
        ids=[f"{group}-{specialty}-{i}" for i in range(size)],
        group=np.full(size, group),
        visa_needed=_draw(rng, spec["visa"], size).astype(str),
        step2=step2,
        usce=_draw(rng, spec["usce_months"], size).astype(float),
        observership=_draw(rng, spec["observership_months"], size).astype(float),
        publications=_draw(rng, spec["publications"], size).astype(float),
        first_author=np.zeros(size),
        posters=np.zeros(size),
        attempts=_draw(rng, spec["attempts"], size).astype(float),
        years_since_graduation=_draw(rng, spec["years_since_graduation"], size).astype(float),
        step3=rng.random(size) < float(spec["step3_passed"]),
        letters={specialty: _draw(rng, spec["us_letters"], size).astype(float)},
    )


# --------------------------------------------------------------------------- standing


def _step2_levels(arrays: ApplicantArrays, specialty: str) -> np.ndarray:
    levels = {g: step2_level(specialty, g) for g in GROUPS}
    return np.select([arrays.group == g for g in GROUPS], [levels[g] for g in GROUPS], np.nan)


def features(arrays: ApplicantArrays, specialty: str) -> dict[str, np.ndarray]:
    """The features h_k of each applicant for a specialty (before effects and centering)."""
    e = effect_params()
    s2, us = e["step2"], e["usce"]
    d = arrays.step2 - _step2_levels(arrays, specialty)
    knee = s2["knee_points"]
    months = arrays.usce + us["observership_weight"] * arrays.observership
    extra = np.maximum(arrays.attempts - 1, 0)
    return {
        "step2": np.where(d <= knee, d, knee + (d - knee) * s2["above_knee_factor"]),
        "usce": 1.0 - np.exp(-months / us["scale_months"]),
        # d(usce feature)/d(observership weight): for the weight's share of the interval
        "observership": arrays.observership
        / us["scale_months"]
        * np.exp(-months / us["scale_months"]),
        "letters": letters_value(arrays.letters_in(specialty)),
        "research": np.log1p(arrays.publications + arrays.first_author + 0.5 * arrays.posters),
        "attempts_first": (extra > 0).astype(float),
        "attempts_more": np.maximum(extra - 1, 0),
        "graduation": np.maximum(arrays.years_since_graduation - e["graduation"]["free_years"], 0),
        "step3": arrays.step3.astype(float),
    }


def _sigma(lo: float, hi: float) -> float:
    """The sd of a normal whose central `level` range is [lo, hi]."""
    z = NormalDist().inv_cdf(0.5 + float(load_params("probability")["uncertainty"]["level"]) / 2)
    return (hi - lo) / (2 * z)


@functools.cache
def effects(specialty: str) -> dict[str, tuple[float, float]]:
    """(beta, sigma) per feature for a specialty (signs included: penalties are negative)."""
    e = effect_params()
    r = e["research"]
    competitive = specialty in r["competitive"]
    res = (
        (r["coef_competitive"], r["competitive_range"]) if competitive else (r["coef"], r["range"])
    )
    letters_lo, letters_hi = e["letters"]["scale_range"]
    usce = e["usce"]
    return {
        "step2": (e["step2"]["per_point"], _sigma(*e["step2"]["range"])),
        "usce": (usce["coef"], _sigma(*usce["range"])),
        "observership": (0.0, usce["coef"] * _sigma(*usce["observership_weight_range"])),
        "letters": (1.0, _sigma(letters_lo, letters_hi)),
        "research": (res[0], _sigma(*res[1])),
        "attempts_first": (
            -e["attempts"]["first_extra"],
            _sigma(*e["attempts"]["first_extra_range"]),
        ),
        "attempts_more": (-e["attempts"]["each_more"], _sigma(*e["attempts"]["each_more_range"])),
        "graduation": (-e["graduation"]["per_year"], _sigma(*e["graduation"]["range"])),
        "step3": (e["step3"]["bonus"], _sigma(*e["step3"]["range"])),
    }


@dataclass(frozen=True)
class Anchor:
    """The population anchor of a specialty and group: means, intercept, program spread."""

    specialty: str
    group: str
    means: dict[str, float]  # E_pop[h_k]
    visa_share: float  # share of the population that needs a visa
    intercept: float  # alpha_sg
    tau: float  # program spread on a person's scale
    spread: float  # sd of the population's standing x
    calibrated: bool


def friction() -> tuple[float, float]:
    """(log-odds, sigma) of needing a visa at a program that sponsors it."""
    v = effect_params()["visa_friction"]
    return float(v["logodds"]), _sigma(*v["range"])


def standing(arrays: ApplicantArrays, specialty: str, *, anchors: dict | None = None) -> np.ndarray:
    """x: each applicant's standing against the mean of their population (vector)."""
    h = features(arrays, specialty)
    beta = effects(specialty)
    x = np.zeros(len(arrays))
    for g in np.unique(arrays.group):
        mine = arrays.group == g
        means = (anchors or {}).get(g) or anchor(specialty, str(g)).means
        x[mine] = sum(beta[k][0] * (h[k][mine] - means[k]) for k in FEATURES)
    return x


def standing_sd(arrays: ApplicantArrays, specialty: str) -> np.ndarray:
    """sd of x from the effects' ranges, the Step 2 CK offset range and the anchor (vector)."""
    h = features(arrays, specialty)
    beta = effects(specialty)
    e = effect_params()
    pop = population_params()["step2"]
    var = np.full(len(arrays), float(e["intercept"]["sd"]) ** 2)
    d = arrays.step2 - _step2_levels(arrays, specialty)
    slope = np.where(d <= e["step2"]["knee_points"], 1.0, e["step2"]["above_knee_factor"])
    for g in np.unique(arrays.group):
        mine = arrays.group == g
        a = anchor(specialty, str(g))
        for k in FEATURES:
            var[mine] += (beta[k][1] * (h[k][mine] - a.means[k])) ** 2
        lo, hi = pop["offset_range"][str(g)]
        var[mine] += (beta["step2"][0] * slope[mine] * _sigma(lo, hi)) ** 2
        needs = (arrays.visa_needed[mine] != "none").astype(float)
        var[mine] += (friction()[1] * (needs - a.visa_share)) ** 2
    return np.sqrt(var)


# --------------------------------------------------------------------------- unknown screens


def unknown_screen_pass(arrays: ApplicantArrays, specialty: str) -> dict[str, np.ndarray]:
    """Per applicant, P(an unknown rule of each kind lets them through).

    prevalence x P(the program's threshold excludes them) is the chance of being screened
    out (`params/population.yaml`, `screens`). Keys: step2, yog, usce, attempts.
    """
    sc = population_params()["screens"]
    c = sc["step2_minimum"]
    cutoff_mean = step2_level(specialty, "non_us_img") - c["below_level"]
    z = (arrays.step2 + 0.5 - cutoff_mean) / c["sd"]
    below = 0.5 * (1.0 - np.vectorize(math.erf)(z / math.sqrt(2.0)))  # P(threshold > score)
    out = {"step2": 1.0 - c["prevalence"] * below}

    def discrete(key: str, value: np.ndarray, fails: Any) -> np.ndarray:
        d = sc[key]
        thresholds = np.array(list(d["values"]), dtype=float)
        shares = np.array(list(d["values"].values()), dtype=float)
        fail = (fails(value[:, None], thresholds[None, :]) * shares[None, :]).sum(axis=1)
        return 1.0 - d["prevalence"] * fail

    out["yog"] = discrete("yog_cutoff", arrays.years_since_graduation, np.greater)
    out["usce"] = discrete("usce_required", arrays.usce, np.less)
    out["attempts"] = discrete("max_attempts", arrays.attempts, np.greater)
    return out


# --------------------------------------------------------------------------- anchors


@functools.cache
def anchor(specialty: str, group: str) -> Anchor:
    """The population anchor of a specialty and group (cached; see the module docstring)."""
    pop = population_params()
    fit = interview_fit(specialty, group)
    sample = sample_population(group, specialty, int(pop["sample_size"]), int(pop["sample_seed"]))
    h = features(sample, specialty)
    means = {k: float(v.mean()) for k, v in h.items()}
    beta = effects(specialty)
    x = sum(beta[k][0] * (h[k] - means[k]) for k in FEATURES)
    needs = sample.visa_needed != "none"
    x = x - friction()[0] * needs
    passes = unknown_screen_pass(sample, specialty)
    weight = passes["step2"] * passes["yog"] * passes["usce"] * passes["attempts"]
    spread = float(np.std(x))
    tau = fit.tau * math.sqrt(1.0 + math.pi * spread**2 / 8.0)
    target = fit.ref_mean / max(fit.open_share, 1e-6)
    # the population's mean over a compact quantile summary of x (and its pass weights)
    order = np.argsort(x)
    bins = np.array_split(order, 200)
    xq = np.array([x[b].mean() for b in bins])
    wq = np.array([weight[b].mean() * b.size for b in bins]) / x.size
    lo, hi = -15.0, 6.0
    for _ in range(60):  # bisection: the mean is increasing in the intercept
        mid = 0.5 * (lo + hi)
        rate = sigmoid(mid + tau * _GH_NODES[:, None] + xq[None, :])
        value = float((rate * _GH_WEIGHTS[:, None] * wq[None, :]).sum())
        lo, hi = (mid, hi) if value < target else (lo, mid)
    return Anchor(
        specialty=specialty,
        group=group,
        means=means,
        visa_share=float(needs.mean()),
        intercept=0.5 * (lo + hi),
        tau=tau,
        spread=spread,
        calibrated=fit.calibrated,
    )


@functools.cache
def representative_sample(specialty: str, group: str, size: int) -> ApplicantArrays:
    """`size` members of the anchor's population sample, one per stratum of standing.

    Systematic sampling by standing keeps the population's distribution of x (whose upper
    tail drives the average at low rates) far better than a random draw of the same size.
    """
    pop = population_params()
    sample = sample_population(group, specialty, int(pop["sample_size"]), int(pop["sample_seed"]))
    order = np.argsort(standing(sample, specialty), kind="stable")
    picks = order[((np.arange(size) + 0.5) * order.size / size).astype(int)]
    return sample.subset(picks)


def reference_profile() -> ApplicantProfile:
    """The reference applicant (`params/reference_profile.yaml`): the population's average
    non-US IMG as one person (standing about 0), for `imgmatch evaluate` and notebook 03."""
    return ApplicantProfile(**load_params("reference_profile"))


def population_mean_profile(specialty: str, group: str = "non_us_img") -> dict[str, float]:
    """Mean of each profile field in the population of a specialty (for the reference profile)."""
    pop = population_params()
    sample = sample_population(group, specialty, int(pop["sample_size"]), int(pop["sample_seed"]))
    return {
        "step2": float(sample.step2.mean()),
        "usce_months": float(sample.usce.mean()),
        "observership_months": float(sample.observership.mean()),
        "us_letters": float(sample.letters[specialty].mean()),
        "publications": float(sample.publications.mean()),
        "years_since_graduation": float(sample.years_since_graduation.mean()),
        "attempts": float(sample.attempts.mean()),
        "step3_share": float(sample.step3.mean()),
    }
