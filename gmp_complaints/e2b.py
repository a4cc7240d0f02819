"""The minimum case of a hand-off as an ICH E2B(R3) individual case safety report (HL7 v3 ICSR message).

Built from the hand-off packet (``services.pharmacovigilance.packet``), so PV receives the same facts in
the PDF, the JSON and this XML. It carries what the complaint knows of the minimum case — sender's case
id (C.1.1), worldwide unique id (C.1.8.1), report type spontaneous (C.1.3), day 0 (C.1.4), the primary
source (C.2.r), the patient (D.1), the reaction with its seriousness criteria (E.i), the suspect product
with its batches (G.k) and the narrative (H.1) — in the element structure and ICH code systems of the
E2B(R3) implementation guide. The reporter, patient and reaction are free text here (the complaint does
not hold them coded or in MedDRA terms): PV completes and codes the case in its safety database before
submission, so this file is an import, not a submission. It is not validated against the ICH schema
files, which are not shipped with the product.
"""
from __future__ import annotations

from datetime import date, datetime
from xml.etree import ElementTree as ET

HL7 = "urn:hl7-org:v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
ICH_OBSERVATION = "2.16.840.1.113883.3.989.2.1.1.19"
ICH_VALUE_GROUPING = "2.16.840.1.113883.3.989.2.1.1.20"
ICH_REPORT_CHARACTERIZATION = "2.16.840.1.113883.3.989.2.1.1.23"
ICH_REPORT_TYPE = "2.16.840.1.113883.3.989.2.1.1.2"
ICH_SOURCE_REPORT = "2.16.840.1.113883.3.989.2.1.1.22"
ICH_DRUG_ROLE = "2.16.840.1.113883.3.989.2.1.1.13"
SENDER_CASE_ID = "2.16.840.1.113883.3.989.2.1.3.1"
WORLDWIDE_CASE_ID = "2.16.840.1.113883.3.989.2.1.3.2"
BATCH_NUMBER = "2.16.840.1.113883.3.989.2.1.3.22"
#: E.i.3.2 seriousness criteria (ICH observation codes) for each seriousness of the hand-off
SERIOUSNESS_CODES = {"death": "34", "life_threatening": "21", "hospitalisation": "33", "disability": "35",
                     "congenital_anomaly": "12", "medically_important": "26"}
REACTION, DRUG_INFORMATION, DRUG_ROLE, SUSPECT = "29", "4", "20", "1"
#: D.1 patient (name or initials) is at most 60 characters in the implementation guide
PATIENT_MAX = 60

ET.register_namespace("", HL7)
ET.register_namespace("xsi", XSI)


def _q(tag: str) -> str:
    return f"{{{HL7}}}{tag}"


def _el(parent, tag: str, text: str | None = None, **attributes) -> ET.Element:
    element = ET.SubElement(parent, _q(tag), {key.rstrip("_"): value for key, value in attributes.items()})
    if text is not None:
        element.text = text
    return element


def _ts(moment: str) -> str:
    """ISO 8601 → the HL7 TS form with its offset (``20261203101500+0800``)."""
    parsed = datetime.fromisoformat(moment)
    return parsed.strftime("%Y%m%d%H%M%S%z")


def _day(day: str) -> str:
    return date.fromisoformat(day).strftime("%Y%m%d")


def _code(parent, tag: str, code: str, system: str, display: str | None = None) -> ET.Element:
    attributes = {"code": code, "codeSystem": system}
    if display:
        attributes["displayName"] = display
    return _el(parent, tag, **attributes)


def _typed_value(parent, xsi_type: str, **attributes) -> ET.Element:
    return _el(parent, "value", **{f"{{{XSI}}}type": xsi_type}, **attributes)


def case_identifier(packet: dict) -> str:
    """C.1.1: unique per case and report (initial = 1, follow-ups 2, 3 …)."""
    complaint = packet["complaint"]
    return f"{complaint['number'] or complaint['intake_ref']}-ADR-{packet['case']['sequence']}"


def icsr_xml(packet: dict, *, sender: str) -> bytes:
    """The packet as an E2B(R3) ICSR message (UTF-8 XML)."""
    case, product = packet["case"], packet["product"]
    created = _ts(packet["generated_at"])
    case_id = case_identifier(packet)
    batch = ET.Element(_q("MCCI_IN200100UV01"), {"ITSVersion": "XML_1.0"})
    _el(batch, "id", extension=f"{case_id}-batch", root=BATCH_NUMBER)
    _el(batch, "creationTime", value=created)
    _el(batch, "responseModeCode", code="D")
    _el(batch, "interactionId", extension="MCCI_IN200100UV01", root="2.16.840.1.113883.1.6")
    message = _el(batch, "PORR_IN049016UV")
    _el(message, "id", extension=case_id, root="2.16.840.1.113883.3.989.2.1.3.1")
    _el(message, "creationTime", value=created)
    _el(message, "interactionId", extension="PORR_IN049016UV", root="2.16.840.1.113883.1.6")
    _el(message, "processingCode", code="P")
    _el(message, "processingModeCode", code="T")
    _el(message, "acceptAckCode", code="AL")
    for role, tag in (("RCV", "receiver"), ("SND", "sender")):
        device = _el(_el(message, tag, typeCode=role), "device", classCode="DEV", determinerCode="INSTANCE")
        _el(device, "id", extension="PV safety database" if role == "RCV" else sender,
            root=f"2.16.840.1.113883.3.989.2.1.3.{12 if role == 'RCV' else 11}")
    act = _el(message, "controlActProcess", classCode="CACT", moodCode="EVN")
    _code(act, "code", "PORR_TE049016UV", "2.16.840.1.113883.1.18")
    _el(act, "effectiveTime", value=created)
    event = _el(_el(act, "subject", typeCode="SUBJ"), "investigationEvent", classCode="INVSTG", moodCode="EVN")
    _el(event, "id", extension=case_id, root=SENDER_CASE_ID)
    _el(event, "id", extension=f"{sender}-{case_id}", root=WORLDWIDE_CASE_ID)
    _code(event, "code", "PAT_ADV_EVNT", "2.16.840.1.113883.5.4")
    _el(event, "text", _narrative(packet))
    _el(event, "statusCode", code="active")
    _el(_el(event, "effectiveTime"), "low", value=_day(case["day0"]))
    _el(event, "availabilityTime", value=_day(case["day0"]))
    assessment = _el(_el(event, "component", typeCode="COMP"), "adverseEventAssessment", classCode="INVSTG",
                     moodCode="EVN")
    role = _el(_el(assessment, "subject1", typeCode="SBJ"), "primaryRole", classCode="INVSBJ")
    patient = _el(role, "player1", classCode="PSN", determinerCode="INSTANCE")
    _el(patient, "name", (case.get("patient") or "")[:PATIENT_MAX] or None, **(
        {} if case.get("patient") else {"nullFlavor": "UNK"}))
    _reaction(role, case)
    _drug(role, product, packet["batches"])
    characteristic = _el(_el(event, "subjectOf2", typeCode="SUBJ"), "investigationCharacteristic", classCode="OBS",
                         moodCode="EVN")
    _code(characteristic, "code", "1", ICH_REPORT_CHARACTERIZATION, "ichReportType")
    _typed_value(characteristic, "CE", code="1", codeSystem=ICH_REPORT_TYPE)  # spontaneous report
    source = _el(_el(event, "outboundRelationship", typeCode="SPRT"), "relatedInvestigation", classCode="INVSTG",
                 moodCode="EVN")
    _code(source, "code", "2", ICH_SOURCE_REPORT, "sourceReport")
    author = _el(_el(_el(source, "subjectOf2", typeCode="SUBJ"), "controlActEvent", classCode="CACT", moodCode="EVN"),
                 "author", typeCode="AUT")
    person = _el(_el(author, "assignedEntity", classCode="ASSIGNED"), "assignedPerson", classCode="PSN",
                 determinerCode="INSTANCE")
    _el(person, "name", case.get("reporter") or None, **({} if case.get("reporter") else {"nullFlavor": "UNK"}))
    ET.indent(batch, space=" ")
    return ET.tostring(batch, encoding="utf-8", xml_declaration=True)


def _reaction(role, case: dict) -> None:
    observation = _el(_el(role, "subjectOf2", typeCode="SBJ"), "observation", classCode="OBS", moodCode="EVN")
    _el(observation, "id", root="2.16.840.1.113883.3.989.2.1.3.23", extension=f"reaction-{case['sequence']}")
    _code(observation, "code", REACTION, ICH_OBSERVATION, "reaction")
    _el(_el(observation, "effectiveTime"), "low", value=_day(case["day0"]))
    value = _typed_value(observation, "CE")
    _el(value, "originalText", case.get("reaction") or "")
    serious_code = SERIOUSNESS_CODES.get(case["seriousness"])
    for code in SERIOUSNESS_CODES.values():
        criterion = _el(_el(observation, "outboundRelationship2", typeCode="PERT"), "observation", classCode="OBS",
                        moodCode="EVN")
        _code(criterion, "code", code, ICH_OBSERVATION)
        _typed_value(criterion, "BL", value="true" if code == serious_code else "false")


def _drug(role, product: dict, batches: list[dict]) -> None:
    organizer = _el(_el(role, "subjectOf2", typeCode="SBJ"), "organizer", classCode="CATEGORY", moodCode="EVN")
    _code(organizer, "code", DRUG_INFORMATION, ICH_VALUE_GROUPING, "drugInformation")
    administration = _el(_el(organizer, "component", typeCode="COMP"), "substanceAdministration", classCode="SBADM",
                         moodCode="EVN")
    kind = _el(_el(_el(administration, "consumable", typeCode="CSM"), "instanceOfKind", classCode="INST"),
               "kindOfProduct", classCode="MMAT", determinerCode="KIND")
    _el(kind, "name", f"{product['name']} {product['strength']} {product['dosage_form']}".strip())
    for batch in batches:  # G.k.4.r.7 batch/lot number
        instance = _el(kind, "productInstanceInstance", classCode="MMAT", determinerCode="INSTANCE")
        _el(instance, "lotNumberText", batch["batch_no"])
    characterization = _el(_el(administration, "outboundRelationship2", typeCode="COMP"), "observation",
                           classCode="OBS", moodCode="EVN")
    _code(characterization, "code", DRUG_ROLE, ICH_OBSERVATION, "interventionCharacterization")
    _typed_value(characterization, "CE", code=SUSPECT, codeSystem=ICH_DRUG_ROLE)


def _narrative(packet: dict) -> str:
    """H.1: the case as the complaint tells it."""
    case, complaint = packet["case"], packet["complaint"]
    lines = [f"Complaint {complaint['number'] or complaint['intake_ref']} received {complaint['received_on']} "
             f"({complaint['channel']}); day 0 {case['day0']}.",
             f"Seriousness: {case['seriousness']}; new (unexpected): {'yes' if case['unexpected'] else 'no'}"
             + ("; part of a group adverse event." if case.get("group_event") else "."),
             f"Reaction: {case.get('reaction') or '-'}",
             f"Complaint as received: {complaint['description']}"]
    return "\n".join(lines)
