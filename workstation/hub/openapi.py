"""The OpenAPI 3.1 document of the JSON API, with request schemas taken from the models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from workstation import __version__
from workstation.hub import schemas
from workstation.hub.errors import MAX_JSON_DEPTH

ERROR = {"$ref": "#/components/schemas/Error"}
TOKEN = {"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}
VISIT_ID = {"name": "visit_id", "in": "path", "required": True, "schema": {"type": "string"}}
SEARCH = {"name": "q", "in": "query", "required": False, "schema": {"type": "string"},
          "description": "What to look for; only its first 100 characters are searched."}
PANE = {"name": "pane", "in": "path", "required": True,
        "schema": {"type": "string", "enum": list(schemas.PANE_MODELS)}}

# Where a fee or co-pay is taken: authorised, saved, then captured (see patient_desk).
PAYING = ("/api/checkins", "/api/visits/{token}/echeckin")

# (method, path, summary, request model, success status, authenticated, parameters)
ENDPOINTS: list[tuple[str, str, str, type[BaseModel] | None, int, bool, list[Any]]] = [
    ("get", "/api/site", "Site facts: fee, hours, open now, consent text", None, 200, False,
     []),
    ("get", "/api/conditions", "The conditions offered", None, 200, False, []),
    ("get", "/api/red-flags", "Emergency questions asked before check-in", None, 200, False,
     []),
    ("post", "/api/eligibility", "Check age, condition, hours and red flags",
     schemas.EligibilityIn, 200, False, []),
    ("get", "/api/pharmacies", "Search pharmacies by name, city, ZIP or NCPDP ID", None, 200,
     False, [SEARCH]),
    ("post", "/api/checkins", "Check in for an on-demand visit or E-Visit and pay the fee",
     schemas.CheckInIn, 201, False, []),
    ("get", "/api/visits/{token}", "The status of the visit this link opens", None, 200, False,
     [TOKEN]),
    ("post", "/api/visits/{token}/echeckin", "Complete eCheck-in for an appointment",
     schemas.ECheckInIn, 200, False, [TOKEN]),
    ("post", "/api/visits/{token}/begin", "Join the queue for an appointment", None, 200, False,
     [TOKEN]),
    ("post", "/api/visits/{token}/cancel", "Leave the queue / cancel", None, 200, False,
     [TOKEN]),
    ("get", "/api/setup", "Whether the first provider account must be created", None, 200,
     False, []),
    ("post", "/api/setup/first-provider", "Create the first provider, with their NPI and the "
     "practice's address and phone (embedded hub only)", schemas.FirstProviderSetupIn, 201,
     False, []),
    ("get", "/api/practice", "The practice address and phone on prescriptions, and the "
     "provider's NPI (the embedded hub's first provider only)", None, 200, True, []),
    ("put", "/api/practice", "Change the practice address and phone and the provider's NPI "
     "(the embedded hub's first provider only; audited)", schemas.PracticeSettingsIn, 200,
     True, []),
    ("post", "/api/auth/sign-in", "Provider sign-in", schemas.SignInIn, 200, False, []),
    ("post", "/api/auth/sign-out", "End this session (and a remembered sign-in, if given)",
     schemas.SignOutIn, 204, True, []),
    ("post", "/api/auth/refresh", "Exchange a remember-me token for a new session",
     schemas.RefreshIn, 200, False, []),
    ("post", "/api/auth/verify", "Check the signed-in provider's password (unlock, audited)",
     schemas.VerifyPasswordIn, 204, True, []),
    ("get", "/api/queue", "Waiting patients of the provider's service lines", None, 200, True,
     []),
    ("post", "/api/visits/{visit_id}/claim", "Claim a waiting patient", None, 200, True,
     [VISIT_ID]),
    ("post", "/api/queue/claim-next", "Claim the longest-waiting patient",
     schemas.ClaimNextIn, 200, True, []),
    ("post", "/api/visits/{visit_id}/release", "Return a claimed patient to the queue", None,
     200, True, [VISIT_ID]),
    ("post", "/api/visits/{visit_id}/call", "Record the video call starting, dropping, "
     "coming back or ending", schemas.CallEventIn, 200, True, [VISIT_ID]),
    ("post", "/api/appointments", "Book a scheduled video visit", schemas.AppointmentIn, 201,
     True, []),
    ("get", "/api/my-visits", "The provider's claimed visits not signed yet", None, 200, True,
     []),
    ("get", "/api/schedule", "Appointments of a day", None, 200, True,
     [{"name": "date", "in": "query", "required": False,
       "schema": {"type": "string", "format": "date"},
       "description": f"A day from {schemas.FIRST_YEAR} to {schemas.LAST_YEAR}; today in the "
                      "site's time zone when left out."}]),
    ("get", "/api/visits/{visit_id}/chart", "Open the chart of a claimed visit (audited)", None,
     200, True, [VISIT_ID]),
    ("put", "/api/visits/{visit_id}/drafts/{pane}", "Save one pane of the note as typed",
     None, 200, True, [VISIT_ID, PANE]),
    ("post", "/api/visits/{visit_id}/sign", "Sign the note and end the visit",
     schemas.SignNoteIn, 200, True, [VISIT_ID]),
    ("post", "/api/visits/{visit_id}/chat", "Keep a line of the in-call chat with the visit",
     schemas.ChatIn, 201, True, [VISIT_ID]),
    ("post", "/api/visits/{visit_id}/addenda", "Add an addendum to a signed note",
     schemas.AddendumIn, 201, True, [VISIT_ID]),
    ("get", "/api/visits/{visit_id}/fhir", "The signed visit as a FHIR R4 Bundle (audited)",
     None, 200, True, [VISIT_ID]),
    ("get", "/api/icd10", "Search ICD-10-CM by code or words, or a condition's shortlist",
     None, 200, True,
     [SEARCH,
      {"name": "condition", "in": "query", "required": False, "schema": {"type": "string"}}]),
    ("get", "/api/visits/{visit_id}/prescriptions", "The visit's prescriptions and their "
     "status (audited)", None, 200, True, [VISIT_ID]),
    ("post", "/api/visits/{visit_id}/prescriptions", "Check and queue a prescription for the "
     "pharmacy (NCPDP NewRx); repeating a message_id returns the first", schemas.PrescriptionIn,
     201, True, [VISIT_ID]),
    ("post", "/api/visits/{visit_id}/prescriptions/check", "What would stop or question a "
     "prescription: warnings and missing fields, nothing sent", schemas.PrescriptionIn, 200,
     True, [VISIT_ID]),
    ("post", "/api/prescriptions/{prescription_id}/cancel", "Withdraw a queued prescription "
     "or send a CancelRx", schemas.CancelPrescriptionIn, 200, True,
     [{"name": "prescription_id", "in": "path", "required": True,
       "schema": {"type": "string"}}]),
]


def document() -> dict[str, Any]:
    components: dict[str, Any] = {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            }},
        },
    }
    paths: dict[str, Any] = {}
    for method, path, summary, model, status, authenticated, params in ENDPOINTS:
        op: dict[str, Any] = {
            "summary": summary,
            "operationId": f"{method}_{path.strip('/').replace('/', '_').replace('{', '')}"
            .replace("}", "").replace("-", "_"),
            "responses": {
                str(status): {"description": "Success"}
                if status == 204 else {"description": "Success", "content": {
                    "application/json": {"schema": {"type": "object"}}}},
                "4XX": {"description": "A problem the caller can fix",
                        "content": {"application/json": {"schema": ERROR}}},
            },
        }
        if params:
            op["parameters"] = params
        if authenticated:
            op["security"] = [{"bearer": []}]
        if model is not None:
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(schema.pop("$defs", {}))
            components[model.__name__] = schema
            op["requestBody"] = {
                "required": model not in (schemas.ClaimNextIn, schemas.SignOutIn),
                "content": {"application/json": {
                    "schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
            }
        if model is not None or path.endswith("/drafts/{pane}"):
            op["responses"]["400"] = {
                "description": "The body is not JSON, or nests arrays and objects more than "
                               f"{MAX_JSON_DEPTH} deep",
                "content": {"application/json": {"schema": ERROR}}}
            op["responses"]["422"] = {
                "description": "Answers that need attention: error.fields names each field "
                               "(dates and times from 1900 to 2100, no control characters, "
                               "nothing invisible in names)",
                "content": {"application/json": {"schema": ERROR}}}
        if path in PAYING:
            op["responses"]["503"] = {
                "description": "The payment service or the database did not answer: nothing "
                               "was saved and the card was not charged (send it again with "
                               "the same idempotency_key)",
                "content": {"application/json": {"schema": ERROR}}}
        if path.endswith("/drafts/{pane}"):
            for pane_model in schemas.PANE_MODELS.values():
                schema = pane_model.model_json_schema(
                    ref_template="#/components/schemas/{model}")
                components.update(schema.pop("$defs", {}))
                components[pane_model.__name__] = schema
            op["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": {"oneOf": [{"$ref": f"#/components/schemas/{m.__name__}"}
                                     for m in schemas.PANE_MODELS.values()]}}}}
        paths.setdefault(path, {})[method] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Visit hub", "version": __version__,
                 "description": "Check-in, queue and visit API of the telehealth visit hub. "
                                "WebSockets: /ws/provider (queue push, signaling) and "
                                "/ws/patient/{token}."},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
