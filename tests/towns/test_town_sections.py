"""The town's configuration sections: each domain declares its own, the profile serves it."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from townops.assessment.config import AssessmentConfig
from townops.dispatch.config import DispatchConfig
from townops.gazetteer.config import GazetteerSettings
from townops.open311.config import Open311Public
from townops.risk.config import RiskConfig
from townops.sensing.config import SensingConfig
from townops.signs.config import SignsConfig
from townops.systemic.settings import SystemicSettings
from townops.townfiles.loader import default_town_dir, load_town
from townops.townfiles.schema import Town
from townops.townfiles.sync import town_profile_dict
from townops.towns.profile import TownProfile
from townops.towns.sections import NotATownSection, section_key, sections, town_section

# Where the loader writes each file in the town's raw dict, and who reads it.
DECLARED: dict[type[BaseModel], str] = {
    DispatchConfig: "dispatch",
    SystemicSettings: "dispatch.systemic",
    SensingConfig: "sensing",
    SignsConfig: "signs",
    RiskConfig: "risk",
    AssessmentConfig: "assessment",
    Open311Public: "open311.public",
    GazetteerSettings: "gazetteer",
}


@pytest.fixture(scope="module")
def gaohang() -> Town:
    return load_town(default_town_dir())


@pytest.fixture
def profile(gaohang: Town) -> TownProfile:
    return TownProfile.from_dict(town_profile_dict(gaohang))


def test_each_domain_declares_its_section_under_the_key_the_loader_writes() -> None:
    assert {model: section_key(model) for model in DECLARED} == DECLARED
    declared = {s.key: s.model for s in sections()}
    assert {key: declared.get(key) for key in DECLARED.values()} == {
        key: model for model, key in DECLARED.items()
    }


def test_the_profile_serves_each_section_as_the_loader_checked_it(
    gaohang: Town, profile: TownProfile
) -> None:
    assert profile.config(DispatchConfig) == gaohang.dispatch
    assert profile.config(SystemicSettings) == gaohang.dispatch.systemic
    assert profile.config(SensingConfig) == gaohang.sensing
    assert profile.config(SignsConfig) == gaohang.signs
    assert profile.config(RiskConfig) == gaohang.risk
    assert profile.config(AssessmentConfig) == gaohang.assessment
    assert profile.config(Open311Public) == gaohang.info.open311.public
    assert gaohang.gazetteer is not None
    assert profile.config(GazetteerSettings).min_confidence == gaohang.gazetteer.min_confidence


def test_a_section_is_validated_once_per_profile(profile: TownProfile) -> None:
    first = profile.config(SensingConfig)
    assert profile.config(SensingConfig) is first
    again = TownProfile.from_dict(profile.raw)
    assert again.config(SensingConfig) is not first
    assert again.config(SensingConfig) == first


def test_a_section_the_files_leave_out_has_its_defaults(profile: TownProfile) -> None:
    raw = {key: value for key, value in profile.raw.items() if key not in ("dispatch", "risk")}
    bare = TownProfile.from_dict(raw)
    assert profile.has_config(RiskConfig)
    assert not bare.has_config(RiskConfig)
    assert not bare.has_config(SystemicSettings)
    assert bare.config(DispatchConfig) == DispatchConfig()
    assert bare.config(SystemicSettings) == SystemicSettings()


def test_a_model_no_domain_declared_is_refused_by_name(profile: TownProfile) -> None:
    class Undeclared(BaseModel):
        value: int = 1

    with pytest.raises(NotATownSection, match=r"Undeclared is not a section .*@town_section"):
        profile.config(Undeclared)
    with pytest.raises(NotATownSection):
        profile.has_config(Undeclared)


def test_a_key_belongs_to_one_model_only() -> None:
    with pytest.raises(ValueError, match="'dispatch' is declared twice"):

        @town_section("dispatch")
        class Another(BaseModel):
            pass

    assert section_key(DispatchConfig) == "dispatch"
    with pytest.raises(ValueError, match="invalid town section key"):
        town_section("open311..public")
