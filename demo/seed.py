"""The demo consultation and `seed_demo`, which stores it.

`make run` seeds a fresh database with the ASEAN Digital Masterplan 2030 (ADM 2030): the
eleven member states, the ASEAN Secretariat, two development partners and a consulting firm,
the drafting timeline, draft versions 0.1 and 0.2, a closed first and an open second
stakeholder engagement round, and one demo account per role, all with the same public
password.

The text of the draft is written for the demo, modelled on public reporting about the real
drafting process; the development partners, the consulting firm and every person are invented.

Every write goes through the consultation services where one exists, so keys, audit entries
and checks are the real ones. The only shortcut is the state of the two rounds (see
`_ensure_round`).
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Organisation, Role, User
from consultations import services
from consultations.models import Consultation, DraftVersion, EngagementRound, Participation
from consultations.services import SectionDraft

from .first_round import decide_first_round, ensure_first_round_people, record_first_round_comments
from .second_round import seed_comments

DEMO_PASSWORD = "consult-demo-2030"
CONSULTATION_SLUG = "adm-2030"
REFUSAL = "seed_demo creates demo accounts with a public password; it does not run in production."


class DemoSeedNotAllowed(Exception):
    """The settings say demo data must not be created here (production)."""


def demo_seed_allowed() -> bool:
    """Whether demo accounts with a public password may be created on this site.

    The DEMO_SEED_ALLOWED setting decides; production.py sets it to False. Without it, the
    production settings module is refused all the same, so that forgetting the setting does
    not open a hole.
    """
    explicit = getattr(settings, "DEMO_SEED_ALLOWED", None)
    if explicit is not None:
        return bool(explicit)
    return getattr(settings, "SETTINGS_MODULE", "") != "config.settings.production"


# --- organisations ------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoOrganisation:
    name: str
    kind: str
    short_name: str = ""
    country_code: str = ""


MEMBER_STATES = (
    DemoOrganisation("Brunei Darussalam", Role.MEMBER_STATE, "Brunei", "BN"),
    DemoOrganisation("Cambodia", Role.MEMBER_STATE, "Cambodia", "KH"),
    DemoOrganisation("Indonesia", Role.MEMBER_STATE, "Indonesia", "ID"),
    DemoOrganisation("Lao PDR", Role.MEMBER_STATE, "Lao PDR", "LA"),
    DemoOrganisation("Malaysia", Role.MEMBER_STATE, "Malaysia", "MY"),
    DemoOrganisation("Myanmar", Role.MEMBER_STATE, "Myanmar", "MM"),
    DemoOrganisation("Philippines", Role.MEMBER_STATE, "Philippines", "PH"),
    DemoOrganisation("Singapore", Role.MEMBER_STATE, "Singapore", "SG"),
    DemoOrganisation("Thailand", Role.MEMBER_STATE, "Thailand", "TH"),
    DemoOrganisation("Timor-Leste", Role.MEMBER_STATE, "Timor-Leste", "TL"),
    DemoOrganisation("Viet Nam", Role.MEMBER_STATE, "Viet Nam", "VN"),
)
SECRETARIAT = DemoOrganisation("ASEAN Secretariat", Role.SECRETARIAT, "ASEC")
DEVELOPMENT_BANK = DemoOrganisation("Mekong-Pacific Development Bank", Role.PARTNER, "MPDB")
TELECOM_UNION = DemoOrganisation("International Digital Connectivity Union", Role.PARTNER, "IDCU")
CONSULTING_FIRM = DemoOrganisation("Meridian Strategy Partners", Role.CONSULTANT, "Meridian")

ORGANISATIONS = (*MEMBER_STATES, SECRETARIAT, DEVELOPMENT_BANK, TELECOM_UNION, CONSULTING_FIRM)


# --- people -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoAccount:
    email: str
    full_name: str
    organisation: str | None  # organisation name; None for the site admin
    role: str  # a Role value; "" for the site admin, who takes part through is_staff
    is_focal_point: bool = False
    time_zone: str = ""
    is_admin: bool = False

    @property
    def role_label(self) -> str:
        if self.is_admin:
            return "site admin"
        label = str(Role(self.role).label).lower()
        return f"{label}, focal point" if self.is_focal_point else label


ADMIN_EMAIL = "admin@example.org"

DEMO_ACCOUNTS = (
    DemoAccount(ADMIN_EMAIL, "Site Administrator", None, "", is_admin=True),
    DemoAccount("secretariat@example.org", "Ratna Kusumawati", SECRETARIAT.name, Role.SECRETARIAT),
    DemoAccount("consultant@example.org", "Ananya Raman", CONSULTING_FIRM.name, Role.CONSULTANT),
    DemoAccount(
        "vn.focal@example.org",
        "Nguyễn Thu Hà",
        "Viet Nam",
        Role.MEMBER_STATE,
        is_focal_point=True,
        time_zone="Asia/Ho_Chi_Minh",
    ),
    DemoAccount(
        "vn.delegate@example.org", "Trần Minh Đức", "Viet Nam", Role.MEMBER_STATE, time_zone="Asia/Ho_Chi_Minh"
    ),
    DemoAccount("th.delegate@example.org", "Kanya Srisuk", "Thailand", Role.MEMBER_STATE, time_zone="Asia/Bangkok"),
    DemoAccount("partner@example.org", "Elena Marquez", DEVELOPMENT_BANK.name, Role.PARTNER),
)


# --- the consultation and its timeline ----------------------------------------------------

CONSULTATION_TITLE = "ASEAN Digital Masterplan 2030"
CONSULTATION_DESCRIPTION = (
    "The ASEAN Digital Masterplan 2030 (ADM 2030) is the region's roadmap for digital cooperation from 2026 to "
    "2030. It succeeds the ADM 2025 and aims at an inclusive, trustworthy, innovative and sustainable ASEAN "
    "Digital Community in which people and businesses can connect and thrive in the digital economy.\n\n"
    "The ASEAN Secretariat and the drafting consultants put each version of the draft up for review in "
    "stakeholder engagement rounds. Member states and development partners comment section by section; their "
    "feedback is consolidated into the next version until the final draft goes to the ASEAN Digital Ministers' "
    "Meeting for adoption.\n\n"
    "This is a demonstration consultation: the text of the draft, the development partners, the consulting firm "
    "and the people taking part are invented for the demo."
)

# The timeline, in days from the day the demo is seeded (as the rounds are, so that the phases and
# the rounds tell one story): the first engagement is the closed round's time, the second runs
# from the revision of 0.1 to the open round's closing.
PHASES = (
    ("Initiation and mid-term review", -180, -121),
    ("Research and drafting", -120, -61),
    ("First stakeholder engagement", -60, -30),
    ("Second stakeholder engagement", -29, 18),
    ("Finalisation of the draft ADM 2030", 19, 80),
)


# --- the draft ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Clause:
    number: str
    heading: str
    body: str = ""
    children: tuple[Clause, ...] = ()


def _text(*paragraphs: str) -> str:
    return "\n\n".join(paragraphs)


VERSION_0_1 = (
    Clause(
        "1",
        "Strategic Outcomes",
        _text(
            "This component sets out what ASEAN intends to achieve by 2030. Each strategic outcome describes a "
            "result that member states can observe in their own economies and societies, together with the "
            "regional actions that contribute to it.",
            "The outcomes build on the achievements of the ADM 2025 and extend them to areas that have become "
            "pressing since: artificial intelligence, data, cybersecurity and the environmental footprint of "
            "digital technology.",
        ),
        (
            Clause(
                "1.1",
                "Seamless and inclusive digital infrastructure",
                "By 2030 every person and business in ASEAN should have access to affordable, high-quality and "
                "secure connectivity, and the region's digital infrastructure should work across borders as one "
                "fabric rather than as separate national networks.",
                (
                    Clause(
                        "1.1.1",
                        "Next-generation mobile networks",
                        _text(
                            "Member states will extend standalone 5G coverage to all urban areas and major transport "
                            "corridors by 2028, and to at least 80 per cent of the population by 2030. Spectrum "
                            "for 5G will be assigned in harmonised bands where practicable, so that equipment and "
                            "services can be deployed across the region at lower cost.",
                            "ASEAN will coordinate national positions on spectrum for future mobile systems ahead "
                            "of the relevant international conferences.",
                        ),
                    ),
                    Clause(
                        "1.1.2",
                        "Cloud computing and data centres",
                        _text(
                            "Member states will create the conditions for trusted cloud services and data centre "
                            "capacity to grow in every part of the region, including in less developed markets. "
                            "Common baseline requirements for security, availability and energy performance will "
                            "help providers offer the same service across borders.",
                            "Governments will adopt cloud-first policies for public services where the "
                            "classification of the data allows, and will publish the criteria by which they decide "
                            "which data must remain on national infrastructure.",
                        ),
                    ),
                    Clause(
                        "1.1.3",
                        "Cross-border connectivity",
                        "ASEAN will reduce the cost and latency of traffic between member states by encouraging "
                        "regional internet exchange points, shared terrestrial backbone routes and peering "
                        "arrangements, so that regional traffic stays in the region.",
                    ),
                    Clause(
                        "1.1.4",
                        "Resilience of submarine cables",
                        "Member states will treat submarine cables and their landing stations as critical "
                        "infrastructure. They will diversify cable routes, simplify permits for repair ships "
                        "operating in their waters and share information about cable faults through a regional "
                        "point of contact.",
                    ),
                ),
            ),
            Clause(
                "1.2",
                "Digital government and smart public services",
                "Public services should be designed around the needs of people and businesses, available online "
                "by default and usable on a mobile phone, with the state acting as an enabler of the digital "
                "economy and not only as a provider of electronic services.",
                (
                    Clause(
                        "1.2.1",
                        "Trusted digital identity",
                        "Each member state will offer its residents a trusted digital identity that can be used to "
                        "access public and private services. ASEAN will develop a framework for the mutual "
                        "recognition of digital identities and electronic signatures, starting with a few "
                        "high-value cross-border uses such as registering a company and having a professional "
                        "qualification recognised.",
                    ),
                    Clause(
                        "1.2.2",
                        "Citizen-centred public services",
                        _text(
                            "Governments will apply the once-only principle: a person or business should not have "
                            "to give the same information to public authorities more than once. Priority life "
                            "events, such as the birth of a child, starting a business or moving for work, will be "
                            "served end to end online.",
                            "Member states will share their experience in using data and artificial intelligence "
                            "to improve public services, with attention to transparency, to accessibility for "
                            "persons with disabilities and to the availability of services in local languages.",
                        ),
                    ),
                ),
            ),
            Clause(
                "1.3",
                "Digital trade and fintech",
                "ASEAN aims to make trading digitally across the region as easy as trading within a single member "
                "state, building on the region's agreements on e-commerce and the digital economy.",
                (
                    Clause(
                        "1.3.1",
                        "Paperless trade",
                        "Member states will accept electronic trade documents, including electronic transferable "
                        "records, on the same footing as paper, and will connect their national single windows so "
                        "that customs and certificate data flow between them without being typed in again.",
                    ),
                    Clause(
                        "1.3.2",
                        "Cross-border payments",
                        "Central banks and payment system operators will be encouraged to link national real-time "
                        "payment systems and QR code schemes, so that people and small businesses can pay and be "
                        "paid across the region at low cost.",
                    ),
                ),
            ),
            Clause(
                "1.4",
                "Digital divide and digital skills",
                "No one should be left behind by the digital transformation of the region. This direction "
                "addresses the gaps in access, affordability and skills between and within member states, "
                "including those affecting women, older persons, persons with disabilities and rural communities.",
                (
                    Clause(
                        "1.4.1",
                        "Meaningful connectivity for all",
                        "Member states will set national targets for meaningful connectivity, which combines "
                        "coverage, affordability, a suitable device and sufficient speed, and will report progress "
                        "against them every two years. Universal service funds will be reviewed so that they "
                        "finance access for underserved communities effectively.",
                    ),
                    Clause(
                        "1.4.2",
                        "Digital skills for all",
                        _text(
                            "Member states will make digital literacy part of school curricula and adult learning, "
                            "and will offer basic digital skills training to groups at risk of exclusion. ASEAN will "
                            "maintain a regional digital skills framework so that a certificate issued in one member "
                            "state is understood in the others.",
                            "Advanced skills in areas such as cybersecurity, data science and artificial "
                            "intelligence will be developed through partnerships between governments, universities "
                            "and industry.",
                        ),
                    ),
                ),
            ),
            Clause(
                "1.5",
                "Innovation ecosystem",
                "ASEAN will move from adopting technology made elsewhere to creating it, with a dynamic start-up "
                "scene, research institutions that work across borders and regulators that let new ideas be tested "
                "safely.",
                (
                    Clause(
                        "1.5.1",
                        "Regulatory sandboxes and regional testbeds",
                        "Member states will operate regulatory sandboxes for digital services and will explore "
                        "regional testbeds, in which an innovation admitted to one member state's sandbox can be "
                        "trialled in others under agreed conditions.",
                    ),
                    Clause(
                        "1.5.2",
                        "Open data",
                        "Governments will publish high-value public datasets, such as geospatial, statistical and "
                        "transport data, as open data in machine-readable formats and under open licences, so that "
                        "start-ups, researchers and civil society can build on them.",
                    ),
                ),
            ),
            Clause(
                "1.6",
                "Digital industry and SME resilience",
                "Micro, small and medium enterprises are the backbone of ASEAN economies. This direction helps "
                "them adopt digital tools and grows a regional digital industry able to compete in global markets.",
                (
                    Clause(
                        "1.6.1",
                        "Digital adoption by small and medium enterprises",
                        _text(
                            "Member states will offer small and medium enterprises practical support to adopt "
                            "digital tools, including e-commerce, e-invoicing, cloud accounting and basic "
                            "cybersecurity, through one-stop advisory services and vouchers.",
                            "ASEAN will collect and share comparable data on the digital adoption of small and "
                            "medium enterprises, so that programmes can be evaluated and the most effective ones "
                            "replicated.",
                        ),
                    ),
                    Clause(
                        "1.6.2",
                        "Regional digital industry",
                        "ASEAN will promote the growth of regional technology companies and their integration into "
                        "regional and global value chains, including in software, semiconductors and digital "
                        "services, by reducing barriers to the cross-border provision of digital services.",
                    ),
                ),
            ),
            Clause(
                "1.7",
                "Green digital transformation",
                "Digital technology should help the region reach its climate and environmental goals, and its own "
                "footprint should shrink as it grows. This direction supports a green digital transformation "
                "towards a circular economy.",
                (
                    Clause(
                        "1.7.1",
                        "Energy-efficient digital infrastructure",
                        "Member states will encourage data centres and telecommunications networks to improve their "
                        "energy efficiency and to draw a growing share of their power from renewable sources. "
                        "Common indicators for energy and water use will allow the performance of operators to be "
                        "compared across the region.",
                    ),
                    Clause(
                        "1.7.2",
                        "Electronic waste and the circular economy",
                        "Member states will improve the collection, repair and recycling of electronic equipment, "
                        "including through extended producer responsibility schemes, and will use digital tools "
                        "such as product passports to follow materials through their life cycle.",
                    ),
                ),
            ),
            Clause(
                "1.8",
                "AI and emerging technologies",
                "ASEAN aims to lead in the responsible development and use of artificial intelligence and other "
                "emerging technologies, and to treat AI as shared infrastructure for the economy and for public "
                "services.",
                (
                    Clause(
                        "1.8.1",
                        "Responsible AI governance",
                        "Member states will apply the regional guidance on AI governance and ethics and will "
                        "develop national approaches that are interoperable with it. High-risk uses of AI in the "
                        "public sector will be subject to an impact assessment before deployment.",
                    ),
                    Clause(
                        "1.8.2",
                        "Shared computing capacity and datasets",
                        "Member states will explore shared access to high-performance computing for researchers and "
                        "start-ups, and will support the creation of datasets in ASEAN languages, so that AI "
                        "systems serve all the region's people, including speakers of less widely used languages.",
                    ),
                ),
            ),
        ),
    ),
    Clause(
        "2",
        "Enabling Areas",
        "The enabling areas are the cross-cutting conditions without which the strategic outcomes cannot be "
        "achieved. They apply to all eight strategic directions.",
        (
            Clause(
                "2.1",
                "Legal and regulatory frameworks",
                _text(
                    "Member states will review the laws and regulations that hold back the digital economy, such as "
                    "requirements for paper documents, handwritten signatures or physical presence, and will align "
                    "their rules on electronic transactions, online consumer protection and competition in digital "
                    "markets with the regional frameworks.",
                    "Regulators will consult one another before adopting rules that affect cross-border digital "
                    "services, to avoid creating new barriers within the region.",
                ),
            ),
            Clause(
                "2.2",
                "Financing and investment",
                _text(
                    "Implementing the masterplan will require public and private investment well beyond what "
                    "national budgets can provide. Member states will use blended finance, public-private "
                    "partnerships and the instruments of development partners to fund infrastructure and skills, "
                    "and will present investors with a pipeline of bankable regional projects.",
                    "A light regional facility will help the less developed member states prepare projects and "
                    "apply for funding.",
                ),
            ),
            Clause(
                "2.3",
                "Human resources and institutional capacity",
                "Each member state will designate a lead agency for the masterplan and a focal point for regional "
                "coordination. ASEAN will run capacity-building programmes for officials in digital policy, the "
                "procurement of digital systems and the evaluation of emerging technologies.",
            ),
            Clause(
                "2.4",
                "Data governance",
                _text(
                    "Member states will implement the regional data management framework and model contractual "
                    "clauses for cross-border data flows, so that data can move across the region with trust. "
                    "Personal data protection laws will be in force in every member state, with regulators "
                    "cooperating on enforcement.",
                    "Public bodies will manage data as a strategic asset, with clear responsibilities for data "
                    "stewardship and quality.",
                ),
            ),
            Clause(
                "2.5",
                "Cybersecurity",
                "Member states will strengthen their national computer emergency response teams and the regional "
                "cooperation between them, including joint exercises and the sharing of threat information.",
            ),
        ),
    ),
    Clause(
        "3",
        "Metrics of Success",
        "The indicators below are used to monitor implementation. Each member state reports against them every "
        "year and the ASEAN Secretariat publishes a consolidated progress report. Baselines are set in 2026 from "
        "the latest available data.",
        (
            Clause(
                "3.1",
                "Connectivity and infrastructure indicators",
                "Share of the population covered by 5G networks; median fixed and mobile broadband download speeds; "
                "number of regional internet exchange points; share of data centre energy from renewable sources.",
            ),
            Clause(
                "3.2",
                "Digital government indicators",
                "Share of priority public services available fully online; share of adults who used a trusted "
                "digital identity in the past year; number of cross-border uses of mutually recognised digital "
                "identities.",
            ),
            Clause(
                "3.3",
                "Digital economy indicators",
                "Value of cross-border digital trade within ASEAN; share of small and medium enterprises selling "
                "online; number of linked real-time payment systems; venture capital invested in ASEAN start-ups.",
            ),
            Clause(
                "3.4",
                "Inclusion, skills and trust indicators",
                "Share of adults with basic digital skills, by sex and by urban or rural residence; share of the "
                "population using the internet; number of member states with a personal data protection law in "
                "force; number of regional cybersecurity exercises held.",
            ),
        ),
    ),
    Clause(
        "4",
        "Timeline",
        "Implementation is organised in a medium-term period, 2026–2028, and a long-term period, 2029–2030. A "
        "review at the end of the first period allows targets and actions to be adjusted.",
        (
            Clause(
                "4.1",
                "Medium term: 2026–2028",
                "Adopt national implementation plans; set baselines for all indicators; launch the priority "
                "regional initiatives on cross-border payments, digital identity, data flows and AI governance; "
                "reach full 5G coverage of urban areas.",
            ),
            Clause(
                "4.2",
                "Long term: 2029–2030",
                "Scale up the initiatives that have proved effective; extend connectivity to rural and border "
                "areas; complete the mutual recognition of digital identities; carry out the final evaluation and "
                "prepare the successor masterplan.",
            ),
        ),
    ),
)

# Version 0.2 is 0.1 revised after the first stakeholder engagement.
REWORDED_IN_0_2 = {
    "1.1.1": _text(
        "Member states will extend standalone 5G coverage to all urban areas and major transport corridors by "
        "2028, and to at least 80 per cent of the population by 2030, giving priority in the second period to "
        "rural districts and border areas. Spectrum for 5G will be assigned in harmonised bands where "
        "practicable, so that equipment and services can be deployed across the region at lower cost.",
        "ASEAN will coordinate national positions on spectrum for 6G ahead of the relevant international "
        "conferences, and will encourage joint research and pilot deployments of 6G technologies by "
        "universities, operators and regulators.",
    ),
    "1.1.3": _text(
        "ASEAN will reduce the cost and latency of traffic between member states by encouraging regional "
        "internet exchange points, shared terrestrial backbone routes and peering arrangements, so that regional "
        "traffic stays in the region.",
        "Member states will protect submarine cables and their landing stations as critical infrastructure, "
        "through diverse cable routes, fast permits for repair ships and a regional point of contact for cable "
        "faults.",
    ),
    "1.3.2": _text(
        "Member states will support their central banks and payment system operators in linking national "
        "real-time payment systems and QR code schemes, so that people and small businesses can pay and be paid "
        "across the region quickly, transparently and at low cost.",
        "Links will follow common standards for messaging and fraud prevention, and consumers will be told the "
        "full cost of a cross-border payment before they confirm it.",
    ),
    "1.8.1": _text(
        "Member states will apply the regional guidance on AI governance and ethics and will develop national "
        "approaches that are interoperable with it, so that an AI system assessed in one member state can be "
        "deployed in another without the assessment being repeated. Uses of AI in the public sector that affect "
        "people's rights will be subject to an impact assessment before deployment and to human oversight while "
        "they are in use.",
        "ASEAN will promote AI that is safe, transparent and centred on people, and member states will share "
        "their evaluation methods and test results.",
    ),
    "2.5": _text(
        "Member states will strengthen their national computer emergency response teams and the regional "
        "cooperation between them, including annual joint exercises, the timely sharing of threat information "
        "and a regional protocol for coordinating the response to incidents that affect several member states.",
        "Critical information infrastructure, including telecommunications networks, data centres and payment "
        "systems, will be protected according to common baseline requirements, and public awareness campaigns "
        "will help people recognise online scams.",
    ),
}
REMOVED_IN_0_2 = {"1.1.4"}  # merged into 1.1.3
ADDED_IN_0_2 = {
    "1.8": Clause(
        "1.8.3",
        "Regional AI cooperation and open models",
        "ASEAN will build a network of AI cooperation centres through which member states, research institutes "
        "and companies share AI applications in health, education, agriculture and smart cities. Where possible, "
        "models and tools developed with public funding will be published under open-source licences and built "
        "on open standards, supporting both national autonomy and regional collaboration.",
    ),
}

VERSION_0_1_SUMMARY = (
    "Zero draft prepared by the drafting consultants at the end of the research and drafting phase, for the "
    "first stakeholder engagement."
)
VERSION_0_2_SUMMARY = "\n".join(
    (
        "Revised after the first stakeholder engagement. Member states asked for firmer commitments on rural "
        "connectivity, 6G, cross-border payments, AI and cybersecurity.",
        "- 1.1.1 Next-generation mobile networks: priority for rural and border areas; joint 6G research.",
        "- 1.1.3 Cross-border connectivity: now also covers submarine cables.",
        "- 1.1.4 Resilience of submarine cables: removed, merged into 1.1.3.",
        "- 1.3.2 Cross-border payments: common standards and cost transparency for consumers.",
        "- 1.8.1 Responsible AI governance: assessments recognised across member states; human oversight.",
        "- 1.8.3 Regional AI cooperation and open models: new clause.",
        "- 2.5 Cybersecurity: regional incident-response protocol; protection of critical information infrastructure.",
    )
)


def _revise(clauses: tuple[Clause, ...]) -> tuple[Clause, ...]:
    revised = []
    for clause in clauses:
        if clause.number in REMOVED_IN_0_2:
            continue
        children = _revise(clause.children)
        if clause.number in ADDED_IN_0_2:
            children = (*children, ADDED_IN_0_2[clause.number])
        revised.append(replace(clause, body=REWORDED_IN_0_2.get(clause.number, clause.body), children=children))
    return tuple(revised)


VERSION_0_2 = _revise(VERSION_0_1)


@dataclass(frozen=True)
class DemoVersion:
    number: str
    title: str
    change_summary: str
    clauses: tuple[Clause, ...]


VERSIONS = (
    DemoVersion("0.1", "Zero draft for the first stakeholder engagement", VERSION_0_1_SUMMARY, VERSION_0_1),
    DemoVersion("0.2", "Revised draft for the second stakeholder engagement", VERSION_0_2_SUMMARY, VERSION_0_2),
)


def section_drafts(clauses: tuple[Clause, ...], level: int = 1) -> list[SectionDraft]:
    """Fresh SectionDraft trees (version_create writes keys into them, so never reuse one)."""
    return [
        SectionDraft(
            heading=c.heading,
            level=level,
            number=c.number,
            body=c.body,
            children=section_drafts(c.children, level + 1),
        )
        for c in clauses
    ]


# --- rounds -------------------------------------------------------------------------------

# Round times are set in the Secretariat's time zone (Jakarta) on round hours, as a real
# secretariat would announce them: "opens 09:00, closes 17:00 WIB".
ROUND_TIME_ZONE = zoneinfo.ZoneInfo("Asia/Jakarta")


@dataclass(frozen=True)
class DemoRound:
    title: str
    version: str
    opens_days: int  # relative to now, in days
    closes_days: int
    state: str
    visibility: str
    commenting_roles: tuple[str, ...] = (Role.MEMBER_STATE, Role.PARTNER)


ROUNDS = (
    DemoRound(
        "First stakeholder engagement",
        "0.1",
        -60,
        -30,
        EngagementRound.State.CLOSED,
        EngagementRound.Visibility.AFTER_CLOSE,
    ),
    DemoRound(
        "Second stakeholder engagement",
        "0.2",
        -3,
        18,
        EngagementRound.State.OPEN,
        EngagementRound.Visibility.SECRETARIAT_ONLY,
    ),
)


def _at(now: datetime, *, days: int, hour: int) -> datetime:
    local = timezone.localtime(now, ROUND_TIME_ZONE) + timedelta(days=days)
    return local.replace(hour=hour, minute=0, second=0, microsecond=0)


# --- seeding ------------------------------------------------------------------------------


def seed_demo(*, now: datetime | None = None) -> dict:
    """Create the demo consultation, its organisations and demo accounts; idempotent.

    A second run creates nothing and leaves existing rounds, versions and phases as they are;
    it only puts the demo accounts back in their demo shape (password, organisation, verified
    e-mail, participation). Nobody is e-mailed. Returns how many objects of each kind it created.
    """
    if not demo_seed_allowed():
        raise DemoSeedNotAllowed(REFUSAL)
    now = now or timezone.now()
    created = dict.fromkeys(
        ["organisations", "users", "participations", "consultations", "phases", "versions", "rounds", "comments"], 0
    )
    with transaction.atomic():
        organisations = _ensure_organisations(created)
        users = _ensure_users(organisations, created)
        admin = users[ADMIN_EMAIL]
        consultation = _ensure_consultation(admin, created)
        _ensure_phases(consultation, admin, now, created)
        _ensure_participations(consultation, users, organisations, created)
        versions = _ensure_versions(consultation, admin, now, created)
        for spec in ROUNDS:
            _ensure_round(spec, versions[spec.version], admin, now, created)
        people = ensure_first_round_people(consultation=consultation, organisations=organisations)
        first_round = consultation.rounds.get(title=ROUNDS[0].title)
        history = record_first_round_comments(engagement_round=first_round, users={**users, **people})
        if history:
            decide_first_round(
                engagement_round=first_round,
                next_version=versions[ROUNDS[1].version],
                secretariat=users["secretariat@example.org"],
                consultant=users["consultant@example.org"],
                comments=history,
            )
        created["comments"] = len(history) + seed_comments(consultation=consultation, users=users)
    return {"consultation": consultation.slug, "created": created}


def _sync(obj, **values) -> None:
    """Save only the fields that differ, so that a re-run of the seed writes nothing."""
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    for name in changed:
        setattr(obj, name, values[name])
    if changed:
        obj.save(update_fields=changed)


def _ensure_organisations(created: dict) -> dict[str, Organisation]:
    organisations = {}
    for spec in ORGANISATIONS:
        values = {"kind": spec.kind, "short_name": spec.short_name, "country_code": spec.country_code}
        organisation, was_created = Organisation.objects.get_or_create(name=spec.name, defaults=values)
        if was_created:
            created["organisations"] += 1
        else:
            _sync(organisation, **values)
        organisations[spec.name] = organisation
    return organisations


def _ensure_users(organisations: dict[str, Organisation], created: dict) -> dict[str, User]:
    users = {}
    for account in DEMO_ACCOUNTS:
        values = {
            "full_name": account.full_name,
            "organisation": organisations[account.organisation] if account.organisation else None,
            "time_zone": account.time_zone,
            "is_staff": account.is_admin,
            "is_superuser": account.is_admin,
            "is_active": True,
        }
        user = User.objects.filter(email__iexact=account.email).first()
        if user is None:
            user = User.objects.create_user(account.email, DEMO_PASSWORD, **values)
            created["users"] += 1
        else:
            _sync(user, **values)
            if not user.check_password(DEMO_PASSWORD):
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
        _ensure_verified_email(user)
        users[account.email] = user
    return users


def _ensure_verified_email(user: User) -> None:
    """Demo accounts log in at once: their address is verified and primary (allauth)."""
    EmailAddress.objects.filter(user=user, primary=True).exclude(email__iexact=user.email).update(primary=False)
    address = EmailAddress.objects.filter(user=user, email__iexact=user.email).first()
    if address is None:
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    else:
        _sync(address, verified=True, primary=True)


def _ensure_consultation(admin: User, created: dict) -> Consultation:
    consultation = Consultation.objects.filter(slug=CONSULTATION_SLUG).first()
    if consultation is None:
        consultation = services.consultation_create(
            actor=admin, title=CONSULTATION_TITLE, slug=CONSULTATION_SLUG, description=CONSULTATION_DESCRIPTION
        )
        created["consultations"] += 1
    return consultation


def _ensure_phases(consultation: Consultation, admin: User, now: datetime, created: dict) -> None:
    existing = set(consultation.phases.values_list("name", flat=True))
    today = timezone.localtime(now, ROUND_TIME_ZONE).date()
    for name, starts, ends in PHASES:
        if name not in existing:
            services.phase_create(
                actor=admin,
                consultation=consultation,
                name=name,
                starts_on=today + timedelta(days=starts),
                ends_on=today + timedelta(days=ends),
            )
            created["phases"] += 1


def _ensure_participations(
    consultation: Consultation, users: dict[str, User], organisations: dict[str, Organisation], created: dict
) -> None:
    # The site admin runs the consultation through is_staff and takes no part in it.
    for account in DEMO_ACCOUNTS:
        if not account.role:
            continue
        if account.organisation is None:
            raise ValueError(f"The demo account {account.email} has a role but no organisation.")
        user, organisation = users[account.email], organisations[account.organisation]
        participation = Participation.objects.filter(consultation=consultation, user=user).first()
        wanted = (organisation.pk, account.role, account.is_focal_point)
        if participation is not None and (
            (participation.organisation_id, participation.role, participation.is_focal_point) == wanted
        ):
            continue
        if participation is None:
            created["participations"] += 1
        services.ensure_participation(
            consultation=consultation,
            user=user,
            organisation=organisation,
            role=account.role,
            is_focal_point=account.is_focal_point,
        )


def _ensure_versions(consultation: Consultation, admin: User, now: datetime, created: dict) -> dict[str, DraftVersion]:
    versions = {}
    for spec in VERSIONS:
        version = consultation.versions.filter(number=spec.number).first()
        if version is None:
            # Created from the previous published version, so that unchanged sections keep their keys.
            version = services.version_create(
                actor=admin,
                consultation=consultation,
                number=spec.number,
                sections=section_drafts(spec.clauses),
                change_summary=spec.change_summary,
                title=spec.title,
            )
            created["versions"] += 1
        if not version.is_published:
            version = services.version_publish(actor=admin, version=version)
            # Publishing stamps today; the demo timeline has each version out two days before
            # the round that reviews it opens.
            round_spec = next(r for r in ROUNDS if r.version == spec.number)
            published_at = _at(now, days=round_spec.opens_days - 2, hour=9)
            DraftVersion.objects.filter(pk=version.pk).update(published_at=published_at)
            version.published_at = published_at
        versions[spec.number] = version
    return versions


def _ensure_round(spec: DemoRound, version: DraftVersion, admin: User, now: datetime, created: dict) -> None:
    if EngagementRound.objects.filter(version=version, title=spec.title).exists():
        return  # left as it is: a re-run must not move an existing round
    if EngagementRound.objects.filter(
        version=version, state__in=[EngagementRound.State.SCHEDULED, EngagementRound.State.OPEN]
    ).exists():
        return  # someone already put this version up for review; leave their round alone
    opens_at = _at(now, days=spec.opens_days, hour=9)
    closes_at = _at(now, days=spec.closes_days, hour=17)
    engagement_round = services.round_schedule(
        actor=admin,
        version=version,
        title=spec.title,
        opens_at=opens_at,
        closes_at=closes_at,
        commenting_roles=list(spec.commenting_roles),
        visibility=spec.visibility,
    )
    # Opening a round for real (rounds_advance, round_open_now) e-mails every participant and
    # logs round.opened / round.closed as happening today. The demo only needs the rounds to
    # look as if they had opened and closed on their dates, so the state is set directly.
    EngagementRound.objects.filter(pk=engagement_round.pk).update(
        state=spec.state,
        opened_at=opens_at,
        closed_at=closes_at if spec.state == EngagementRound.State.CLOSED else None,
    )
    created["rounds"] += 1


def demo_account_rows() -> list[tuple[str, str, str, bool]]:
    """(e-mail, role, organisation, exists) for each demo account, for the demo_accounts command."""
    existing = set(User.objects.filter(email__in=[a.email for a in DEMO_ACCOUNTS]).values_list("email", flat=True))
    return [(a.email, a.role_label, a.organisation or "—", a.email in existing) for a in DEMO_ACCOUNTS]
