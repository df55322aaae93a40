"""UCI Census-Income (KDD): the tabular data set of the GRN/VSN seed.

`census-income.data.gz` (199,523 rows) and `census-income.test.gz` (99,762 rows): 41 columns
(40 features + `instance_weight`) and the label, comma-separated with a space after each comma.
Column names, the numeric/categorical split and the label mapping (" - 50000." -> 0, else 1)
are the seed's; the instance weights become per-sample weights, as in the seed.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from bench.data.base import Dataset, Provenance, Split
from bench.data.sources import RemoteFile, Sources, fetch_all, sha256_of
from bench.errors import BenchError
from models.specs import TabularSpec

UCI = "https://archive.ics.uci.edu/ml/machine-learning-databases/census-income-mld/"
FILES = [RemoteFile("census-income.data.gz", UCI + "census-income.data.gz"),
         RemoteFile("census-income.test.gz", UCI + "census-income.test.gz")]
ROWS = {"census-income.data.gz": 199_523, "census-income.test.gz": 99_762}

CSV_HEADER = [
    "age", "class_of_worker", "detailed_industry_recode", "detailed_occupation_recode",
    "education", "wage_per_hour", "enroll_in_edu_inst_last_wk", "marital_stat",
    "major_industry_code", "major_occupation_code", "race", "hispanic_origin", "sex",
    "member_of_a_labor_union", "reason_for_unemployment", "full_or_part_time_employment_stat",
    "capital_gains", "capital_losses", "dividends_from_stocks", "tax_filer_stat",
    "region_of_previous_residence", "state_of_previous_residence",
    "detailed_household_and_family_stat", "detailed_household_summary_in_household",
    "instance_weight", "migration_code-change_in_msa", "migration_code-change_in_reg",
    "migration_code-move_within_reg", "live_in_this_house_1_year_ago",
    "migration_prev_res_in_sunbelt", "num_persons_worked_for_employer",
    "family_members_under_18", "country_of_birth_father", "country_of_birth_mother",
    "country_of_birth_self", "citizenship", "own_business_or_self_employed",
    "fill_inc_questionnaire_for_veterans_admin", "veterans_benefits", "weeks_worked_in_year",
    "year", "income_level",
]
# The seed names column 38 "fill_inc_questionnaire_for_veteran's_admin"; an apostrophe is not
# allowed in a Keras input or scope name, so it is dropped here (position and meaning unchanged).
NUMERIC = ("age", "wage_per_hour", "capital_gains", "capital_losses", "dividends_from_stocks",
           "num_persons_worked_for_employer", "weeks_worked_in_year")
WEIGHT = "instance_weight"
TARGET = "income_level"
CATEGORICAL = tuple(c for c in CSV_HEADER if c not in (*NUMERIC, WEIGHT, TARGET))
NEGATIVE_LABEL = "- 50000."

_COUNTRIES = (
    "Cambodia", "Canada", "China", "Columbia", "Cuba", "Dominican-Republic", "Ecuador",
    "El-Salvador", "England", "France", "Germany", "Greece", "Guatemala", "Haiti",
    "Holand-Netherlands", "Honduras", "Hong Kong", "Hungary", "India", "Iran", "Ireland", "Italy",
    "Jamaica", "Japan", "Laos", "Mexico", "Nicaragua", "Outlying-U S (Guam USVI etc)", "Panama",
    "Peru", "Philippines", "Poland", "Portugal", "Puerto-Rico", "Scotland", "South Korea",
    "Taiwan", "Thailand", "Trinadad&Tobago", "United-States", "Vietnam", "Yugoslavia", "?")
_STATES = (
    "Abroad", "Alabama", "Alaska", "Arizona", "Arkansas", "California", "Colorado", "Connecticut",
    "Delaware", "District of Columbia", "Florida", "Georgia", "Idaho", "Illinois", "Indiana",
    "Iowa", "Kansas", "Kentucky", "Louisiana", "Maine", "Maryland", "Massachusetts", "Michigan",
    "Minnesota", "Mississippi", "Missouri", "Montana", "Nebraska", "Nevada", "New Hampshire",
    "New Jersey", "New Mexico", "New York", "North Carolina", "North Dakota", "Not in universe",
    "Ohio", "Oklahoma", "Oregon", "Pennsylvania", "South Carolina", "South Dakota", "Tennessee",
    "Texas", "Utah", "Vermont", "Virginia", "West Virginia", "Wisconsin", "Wyoming", "?")

#: Values of each categorical column as they appear in the files (leading spaces stripped),
#: from the data set's documentation. Real loads take the vocabulary from the training file
#: (as the seed does); these are the schema of the synthetic stand-in.
VOCABULARIES: dict[str, tuple[str, ...]] = {
    "class_of_worker": ("Federal government", "Local government", "Never worked",
                        "Not in universe", "Private", "Self-employed-incorporated",
                        "Self-employed-not incorporated", "State government", "Without pay"),
    "detailed_industry_recode": tuple(str(i) for i in range(52)),
    "detailed_occupation_recode": tuple(str(i) for i in range(47)),
    "education": ("10th grade", "11th grade", "12th grade no diploma", "1st 2nd 3rd or 4th grade",
                  "5th or 6th grade", "7th and 8th grade", "9th grade",
                  "Associates degree-academic program", "Associates degree-occup /vocational",
                  "Bachelors degree(BA AB BS)", "Children", "Doctorate degree(PhD EdD)",
                  "High school graduate", "Less than 1st grade",
                  "Masters degree(MA MS MEng MEd MSW MBA)",
                  "Prof school degree (MD DDS DVM LLB JD)", "Some college but no degree"),
    "enroll_in_edu_inst_last_wk": ("College or university", "High school", "Not in universe"),
    "marital_stat": ("Divorced", "Married-A F spouse present", "Married-civilian spouse present",
                     "Married-spouse absent", "Never married", "Separated", "Widowed"),
    "major_industry_code": (
        "Agriculture", "Armed Forces", "Business and repair services", "Communications",
        "Construction", "Education", "Entertainment", "Finance insurance and real estate",
        "Forestry and fisheries", "Hospital services", "Manufacturing-durable goods",
        "Manufacturing-nondurable goods", "Medical except hospital", "Mining",
        "Not in universe or children", "Other professional services",
        "Personal services except private HH", "Private household services",
        "Public administration", "Retail trade", "Social services", "Transportation",
        "Utilities and sanitary services", "Wholesale trade"),
    "major_occupation_code": (
        "Adm support including clerical", "Armed Forces", "Executive admin and managerial",
        "Farming forestry and fishing", "Handlers equip cleaners etc",
        "Machine operators assmblrs & inspctrs", "Not in universe", "Other service",
        "Precision production craft & repair", "Private household services",
        "Professional specialty", "Protective services", "Sales",
        "Technicians and related support", "Transportation and material moving"),
    "race": ("Amer Indian Aleut or Eskimo", "Asian or Pacific Islander", "Black", "Other", "White"),
    "hispanic_origin": ("All other", "Central or South American", "Chicano", "Cuban",
                        "Do not know", "Mexican (Mexicano)", "Mexican-American", "NA",
                        "Other Spanish", "Puerto Rican"),
    "sex": ("Female", "Male"),
    "member_of_a_labor_union": ("No", "Not in universe", "Yes"),
    "reason_for_unemployment": ("Job leaver", "Job loser - on layoff", "New entrant",
                                "Not in universe", "Other job loser", "Re-entrant"),
    "full_or_part_time_employment_stat": (
        "Children or Armed Forces", "Full-time schedules", "Not in labor force",
        "PT for econ reasons usually FT", "PT for econ reasons usually PT",
        "PT for non-econ reasons usually FT", "Unemployed full-time", "Unemployed part- time"),
    "tax_filer_stat": ("Head of household", "Joint both 65+", "Joint both under 65",
                       "Joint one under 65 & one 65+", "Nonfiler", "Single"),
    "region_of_previous_residence": ("Abroad", "Midwest", "Northeast", "Not in universe",
                                     "South", "West"),
    "state_of_previous_residence": _STATES,
    "detailed_household_and_family_stat": (
        "Child 18+ ever marr Not in a subfamily", "Child 18+ ever marr RP of subfamily",
        "Child 18+ never marr Not in a subfamily", "Child 18+ never marr RP of subfamily",
        "Child 18+ spouse of subfamily RP", "Child <18 ever marr RP of subfamily",
        "Child <18 ever marr not in subfamily", "Child <18 never marr RP of subfamily",
        "Child <18 never marr not in subfamily", "Child <18 spouse of subfamily RP",
        "Child under 18 of RP of unrel subfamily", "Grandchild 18+ ever marr RP of subfamily",
        "Grandchild 18+ ever marr not in subfamily", "Grandchild 18+ never marr RP of subfamily",
        "Grandchild 18+ never marr not in subfamily", "Grandchild 18+ spouse of subfamily RP",
        "Grandchild <18 ever marr not in subfamily", "Grandchild <18 never marr RP of subfamily",
        "Grandchild <18 never marr child of subfamily RP",
        "Grandchild <18 never marr not in subfamily", "Householder", "In group quarters",
        "Nonfamily householder", "Other Rel 18+ ever marr RP of subfamily",
        "Other Rel 18+ ever marr not in subfamily", "Other Rel 18+ never marr RP of subfamily",
        "Other Rel 18+ never marr not in subfamily", "Other Rel 18+ spouse of subfamily RP",
        "Other Rel <18 ever marr RP of subfamily", "Other Rel <18 ever marr not in subfamily",
        "Other Rel <18 never marr child of subfamily RP",
        "Other Rel <18 never marr not in subfamily", "Other Rel <18 never married RP of subfamily",
        "Other Rel <18 spouse of subfamily RP", "RP of unrelated subfamily",
        "Secondary individual", "Spouse of RP of unrelated subfamily", "Spouse of householder"),
    "detailed_household_summary_in_household": (
        "Child 18 or older", "Child under 18 ever married", "Child under 18 never married",
        "Group Quarters- Secondary individual", "Householder", "Nonrelative of householder",
        "Other relative of householder", "Spouse of householder"),
    "migration_code-change_in_msa": ("Abroad to MSA", "Abroad to nonMSA", "MSA to MSA",
                                     "MSA to nonMSA", "NonMSA to MSA", "NonMSA to nonMSA",
                                     "Nonmover", "Not identifiable", "Not in universe", "?"),
    "migration_code-change_in_reg": ("Abroad", "Different county same state",
                                     "Different division same region", "Different region",
                                     "Different state same division", "Nonmover",
                                     "Not in universe", "Same county", "?"),
    "migration_code-move_within_reg": ("Abroad", "Different county same state",
                                       "Different state in Midwest", "Different state in Northeast",
                                       "Different state in South", "Different state in West",
                                       "Nonmover", "Not in universe", "Same county", "?"),
    "live_in_this_house_1_year_ago": ("No", "Not in universe under 1 year old", "Yes"),
    "migration_prev_res_in_sunbelt": ("No", "Not in universe", "Yes", "?"),
    "family_members_under_18": ("Both parents present", "Father only present",
                                "Mother only present", "Neither parent present", "Not in universe"),
    "country_of_birth_father": _COUNTRIES,
    "country_of_birth_mother": _COUNTRIES,
    "country_of_birth_self": _COUNTRIES,
    "citizenship": ("Foreign born- Not a citizen of U S", "Foreign born- U S citizen by naturalization",
                    "Native- Born abroad of American Parent(s)",
                    "Native- Born in Puerto Rico or U S Outlying",
                    "Native- Born in the United States"),
    "own_business_or_self_employed": ("0", "1", "2"),
    "fill_inc_questionnaire_for_veterans_admin": ("No", "Not in universe", "Yes"),
    "veterans_benefits": ("0", "1", "2"),
    "year": ("94", "95"),
}
assert set(VOCABULARIES) == set(CATEGORICAL)


def _read_csv(path, expected_rows: int):
    try:  # all text first: "NA" is a hispanic_origin category, not a missing value
        frame = pd.read_csv(path, header=None, names=CSV_HEADER, skipinitialspace=True, dtype=str,
                            keep_default_na=False, compression="gzip")
    except Exception as e:  # pandas raises many types on corrupt gzip/CSV
        raise BenchError(f"census_income: cannot parse {path}: {e.__class__.__name__}: {e}") from None
    for col in (*NUMERIC, WEIGHT):
        frame[col] = pd.to_numeric(frame[col], errors="coerce")
    if len(frame) != expected_rows or frame[list(NUMERIC) + [WEIGHT]].isna().any().any():
        raise BenchError(f"census_income: {path} has {len(frame):,} rows (expected "
                         f"{expected_rows:,}) or non-numeric values in numeric columns; the file "
                         f"looks corrupt")
    return frame


def frame_to_split(frame) -> Split:
    x = {c: frame[c].to_numpy(np.float32) for c in NUMERIC}
    x.update({c: frame[c].str.strip().to_numpy(object) for c in CATEGORICAL})
    y = (frame[TARGET].str.strip() != NEGATIVE_LABEL).to_numpy(np.float32)
    return Split(x, y, frame[WEIGHT].to_numpy(np.float32))


def load_census_income(sources: Sources, expected_rows: dict[str, int] = ROWS) -> Dataset:
    how = ("Put census-income.data.gz and census-income.test.gz (UCI 'Census-Income (KDD)') in a "
           "directory and pass --data-dir DIR (or set ACCUMBENCH_DATA_DIR), or run once with "
           f"internet access to download them from {UCI}.")
    directory, _ = fetch_all(sources, FILES, "census_income", how, "census-income", "census_income")
    paths = [directory / f.name for f in FILES]
    train, test = (frame_to_split(_read_csv(p, expected_rows[p.name])) for p in paths)
    vocab = {c: tuple(sorted(set(train.x[c]))) for c in CATEGORICAL}
    digest = ", ".join(f"{p.name} sha256 {sha256_of(p)[:12]}" for p in paths)
    prov = Provenance("census_income", "Census-Income (KDD)", str(directory), True, len(train),
                      len(test), "structure (row and column counts)", digest)
    return Dataset("census_income", TabularSpec(NUMERIC, vocab, 2), train, test, prov)
