"""The figures Gaohang's 2022 government work report (seed 003) gives for the town.

They are the manual signs' 2022 values at town level, as published — not simulated. A
figure the report gives only as a bound ("99%以上", "90%以上") is entered at that bound and
says so. Loading them is what an office clerk would type in from the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from townops.access.actor import SYSTEM
from townops.signs.manual import import_figures
from townops.signs.service import signs_config
from townops.tabular import ImportReport, Sheet
from townops.towns.profile import get_profile


@dataclass(frozen=True)
class SeedFigure:
    sign_id: str
    value: float
    note: str


SEED_YEAR = 2022
SEED_FIGURES: tuple[SeedFigure, ...] = (
    SeedFigure("police_alarms", 1761, "003: 报警类警情数1761起"),
    SeedFigure("safe_estate_rate", 0.90, "003: 平安小区创建率达90%以上（按下限填报）"),
    SeedFigure("elderly_checkups", 8840, "003: 完成老年人体检8840人"),
    SeedFigure("elderly_meal_service", 308, "003: 保障308位老人助餐服务"),
    SeedFigure("lonely_elderly_cared", 730, "003: “老伙伴”项目受助独居高龄老人730人"),
    SeedFigure(
        "elderly_alone_households",
        730,
        "003: 取“老伙伴”受助独居高龄老人730人为独居老人户数（演示设备台账按此每户一台燃气报警器）",
    ),
    SeedFigure("hardship_families_visited", 6135, "003: 慰问困难家庭6135户"),
    SeedFigure("mediation_disputes", 1320, "003: 调处各类矛盾纠纷1320件"),
    SeedFigure("mediation_successes", 1307, "003: 调解成功率达到99%以上（1320件的99%向上取整）"),
    SeedFigure("property_disputes", 1049, "003: 共调处物业管理纠纷1049起"),
    SeedFigure("property_dispute_satisfaction", 0.984, "003: 满意率98.4%"),
    SeedFigure("legal_consultations", 134, "003: 为基层提供法律建议和咨询134次"),
    SeedFigure("new_jobs", 1217, "003: 新增岗位1217个"),
    SeedFigure("online_service_applications", 81000, "003: 受理线上线下政务服务业务8.1万件"),
    SeedFigure("new_enterprises", 1001, "003: 引进内资新设项目数1001家"),
    SeedFigure("high_tech_enterprises", 12, "003: 认定高新技术企业12家"),
    SeedFigure("micro_renewal_sites", 118, "003: “微更新”点位118个"),
    SeedFigure("star_corridors", 291, "003: 创建二星级及以上“美丽楼道”291个"),
    SeedFigure("colorful_community_sites", 9, "003: 9个小区点位“缤纷社区”"),
    SeedFigure("service_circle_projects", 11, "003: 已竣工项目11个"),
    SeedFigure("river_patrol_rate", 1.0, "003: 全年河长巡河率……均达100%"),
    SeedFigure("river_chief_performance_rate", 1.0, "003: 履职率……均达100%"),
    SeedFigure("water_quality_rate", 1.0, "003: 水质考核断面全部达标"),
    SeedFigure("ev_charging_ratio", 0.25, "003: 充电装置与电瓶车保有量1:4"),
    SeedFigure("green_communities", 37, "003: 全镇所有社区完成绿色社区创建（37个居村）"),
)


def load_seed_figures(
    session: Session, *, year: int = SEED_YEAR, now: datetime | None = None
) -> ImportReport:
    """Enter the report's 2022 figures for the town (all or none, replacing earlier ones),
    as ``year``'s: the living demo shows them for its own year, each note saying so."""
    town = get_profile(session).code
    borrowed = "" if year == SEED_YEAR else f"（{SEED_YEAR}年工作报告数字，演示用）"
    sheet = Sheet(
        header=["sign", "jurisdiction", "period", "value", "note"],
        rows=[
            (number, [f.sign_id, town, str(year), f.value, f.note + borrowed])
            for number, f in enumerate(SEED_FIGURES, start=2)
        ],
    )
    return import_figures(session, actor=SYSTEM, config=signs_config(session), sheet=sheet, now=now)
