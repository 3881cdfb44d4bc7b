"""Write the sample request sheets, their documents and the blank templates.

    python samples/generate.py [--catalogue FILE]

Writes, deterministically (the same bytes on every run):

- samples/requests.xlsx   one sheet per request type, named after it (no `type` column)
- samples/requests.csv    one sheet, UTF-8, with a `type` column
- samples/documents/      the small PDF, PNG, DOCX and XLSX files the rows name
- templates/*.xlsx        a blank workbook per request type, a note on every header, and a
                          `type` column that fills itself in (kept by a CSV save)

The rows below are literal data. Each sheet's requirement columns are the union of the
requirement keys of the catalogue entries its rows match (the sandbox's built-in catalogue,
batch/sandbox/data/catalogue.json, unless --catalogue names another), so rerun this script
when the catalogue changes. A row that fills a key its entry does not list, or leaves out a
required one, stops the script unless the row is marked `_invalid` with the reason.
README.md in this folder lists the rows that are invalid on purpose.

Standard library and openpyxl only.
"""

# Long lines are literal sample texts and OOXML namespaces, kept whole to stay greppable.
# ruff: noqa: E501

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import re
import struct
import sys
import zipfile
import zlib
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DOCUMENTS = HERE / "documents"
TEMPLATES = ROOT / "templates"
DEFAULT_CATALOGUE = ROOT / "batch" / "sandbox" / "data" / "catalogue.json"

ALPHA, NUMBER, RCS = "ALPHANUMERIC_REGISTRATION", "NUMBER_PURCHASE", "RCS_SENDER_LAUNCH"
# Every file this script writes carries this date, so reruns give identical bytes.
FIXED_TIME = datetime(2025, 1, 6, 9, 0, 0)
ZIP_TIME = (2025, 1, 6, 9, 0, 0)

# Standard (non-requirement) columns, in the order they are written.
STANDARD = (
    "reference",
    "type",
    "countryCode",
    "senderName",
    "numberType",
    "capabilities",
    "quantity",
    "clientType",
    "trafficOrigin",
    "trafficType",
    "excludedCarriers",
    "additionalContactEmails",
    "applicationId",
    "entityId",
)
# The standard columns each request type uses (`type` comes from the sheet name).
COLUMNS_BY_TYPE = {
    ALPHA: (
        "reference",
        "countryCode",
        "senderName",
        "trafficOrigin",
        "trafficType",
        "additionalContactEmails",
        "applicationId",
        "entityId",
    ),
    NUMBER: (
        "reference",
        "countryCode",
        "numberType",
        "capabilities",
        "quantity",
        "clientType",
        "additionalContactEmails",
        "applicationId",
        "entityId",
    ),
    RCS: (
        "reference",
        "countryCode",
        "senderName",
        "trafficOrigin",
        "excludedCarriers",
        "additionalContactEmails",
        "applicationId",
        "entityId",
    ),
}

# Option texts, exactly as the catalogue lists them.
HR_CONSENT = "I consent that Infobip will do registration in my name."
FR_STOP = (
    "I confirm that every promotional message will include the free STOP opt-out mention,"
    ' for example "STOP au 36111".'
)
FR_HOURS = (
    "I confirm that promotional messages will only be sent Monday to Saturday between 08:00"
    " and 20:00, excluding public holidays."
)
NG_DND = (
    "I confirm that promotional messages will not be sent to numbers on the Do-Not-Disturb list."
)
IN_CHAIN = "I confirm that Infobip is added to my entity's telemarketer chain on the DLT platform."
GB_END_USER = (
    "I confirm that the numbers will be used only by my company and will not be sub-allocated."
)
NL_PLAN = "I confirm that the numbers will be used in line with the Dutch numbering plan rules."

# ---------------------------------------------------------------------------------------
# requests.xlsx: ALPHANUMERIC_REGISTRATION sheet (at most 2 rows per country: Infobip
# allows 2 pending alphanumeric requests per country)
# ---------------------------------------------------------------------------------------
XLSX_ALPHA = [
    {
        "reference": "ACME-HR-ALPHA-001",
        "countryCode": "HR",
        "senderName": "ACME",
        "trafficOrigin": "LOCAL",
        "trafficType": "PROMOTIONAL",
        "additionalContactEmails": "ivana.babic@acme-retail.hr; marko.horvat@acme-retail.hr",
        "applicationId": "acme-retail",
        "entityId": "acme-hr",
        "companyName": "Acme Retail d.o.o.",
        "vatNumber": "HR12345678901",
        "useCase": "Promotions",
        "expectedMonthlyMessages": 250000,
        "companyEmailAddresses": "ivana.babic@acme-retail.hr; marketing@acme-retail.hr",
        "companyWebsite": "https://www.acme-retail.hr",
        "contactPhoneNumber": "+385912345678",
        "companyRegistrationDocument": "documents/acme-hr-registration.pdf",
        "registrationForm": "documents/acme-hr-registration-form.docx",
        "registrationConsent": HR_CONSENT,
    },
    {
        "reference": "ACME-HR-ALPHA-002",
        "countryCode": "HR",
        "senderName": "AcmeShop",
        "trafficOrigin": "LOCAL",
        "trafficType": "TRANSACTIONAL",
        "additionalContactEmails": "marko.horvat@acme-retail.hr",
        "applicationId": "acme-retail",
        "entityId": "acme-hr",
        "companyName": "Acme Retail d.o.o.",
        "vatNumber": "12345678901",
        "useCase": "Notifications",
        "expectedMonthlyMessages": 60000,
        "companyWebsite": "https://www.acme-retail.hr",
        "contactPhoneNumber": "+385912345678",
        "companyRegistrationDocument": "documents/acme-hr-registration.pdf",
        "registrationConsent": HR_CONSENT,
        "_invalid": "vatNumber 12345678901 lacks the HR country prefix (pattern ^[A-Z]{2}[0-9]{8,12}$)",
    },
    {
        "reference": "NORDLICHT-DE-ALPHA-001",
        "countryCode": "DE",
        "senderName": "Nordlicht",
        "trafficOrigin": "LOCAL",
        "trafficType": "TRANSACTIONAL",
        "additionalContactEmails": "jonas.weber@nordlicht-versicherung.de",
        "companyName": "Nordlicht Versicherung AG",
        "commercialRegisterNumber": "HRB 123456",
        "registerCourt": "Amtsgericht Hamburg",
        "vatNumber": "DE123456789",
        "companyWebsite": "https://www.nordlicht-versicherung.de",
        "useCase": "One-time passwords (OTP)",
        "messageSample": "Ihr Nordlicht-Code lautet 482913. Er ist 10 Minuten gültig.",
        "letterOfAuthorisation": "documents/nordlicht-letter-of-authorisation.pdf",
    },
    {
        "reference": "NORDLICHT-DE-ALPHA-002",
        "countryCode": "DE",
        "senderName": "NLSchaden",
        "trafficOrigin": "LOCAL",
        "trafficType": "TRANSACTIONAL",
        "additionalContactEmails": "jonas.weber@nordlicht-versicherung.de",
        "companyName": "Nordlicht Versicherung AG",
        "commercialRegisterNumber": "HRB 123456",
        "registerCourt": "Amtsgericht Hamburg",
        "vatNumber": "DE123456789",
        "companyWebsite": "https://www.nordlicht-versicherung.de",
        "useCase": "Transactional notifications",
        "messageSample": "Ihre Schadenmeldung {Nummer} ist eingegangen. Wir melden uns binnen 48 Stunden.",
        "letterOfAuthorisation": "documents/nordlicht-letter-of-authorisation.pdf",
    },
    {
        "reference": "THAMES-GB-ALPHA-001",
        "countryCode": "GB",
        "senderName": "ThamesPcl",
        "trafficOrigin": "LOCAL",
        "trafficType": "TRANSACTIONAL",
        "companyName": "Thames Parcel Ltd",
        "companyRegistrationNumber": "09876543",
        "companyWebsite": "https://www.thamesparcel.co.uk",
        "contactEmailAddress": "priya.shah@thamesparcel.co.uk",
        "useCase": "Transactional notifications",
        "messageSamples": "Your parcel {tracking} is out for delivery today between 10:00 and 12:00.\n"
        "Sorry we missed you. Rebook your delivery at thamesparcel.co.uk/rebook",
        "senderIdProtectionRegistry": "Already registered by my company",
    },
    {
        "reference": "THAMES-GB-ALPHA-002",
        "countryCode": "GB",
        "senderName": "TPSecure",
        "trafficOrigin": "LOCAL",
        "trafficType": "TRANSACTIONAL",
        "additionalContactEmails": "priya.shah@thamesparcel.co.uk; daniel.okafor@thamesparcel.co.uk;"
        " it.security@thamesparcel.co.uk",
        "companyName": "Thames Parcel Ltd",
        "companyRegistrationNumber": "09876543",
        "companyWebsite": "https://www.thamesparcel.co.uk",
        "contactEmailAddress": "daniel.okafor@thamesparcel.co.uk",
        "useCase": "One-time passwords (OTP)",
        "messageSamples": "Your Thames Parcel verification code is 552190. Never share it.",
        "senderIdProtectionRegistry": "Not registered, please register it on my behalf",
    },
    {
        "reference": "LEFEVRE-FR-ALPHA-001",
        "countryCode": "FR",
        "senderName": "LEFEVRE",
        "trafficOrigin": "LOCAL",
        "trafficType": "PROMOTIONAL",
        "companyName": "Maison Lefèvre SAS",
        "sirenNumber": "552100554",
        "companyWebsite": "https://www.maison-lefevre.fr",
        "contactEmailAddress": "claire.martin@maison-lefevre.fr",
        "messageSample": "Maison Lefevre : -20% sur toute la literie ce week-end ! STOP au 36111",
        "optInCollectionMethod": "Online form with an unticked checkbox",
        "optInProofUrl": "https://www.maison-lefevre.fr/newsletter/inscription",
        "stopMentionConfirmation": FR_STOP,
        "sendingHoursConfirmation": FR_HOURS,
    },
    {
        "reference": "LEFEVRE-FR-ALPHA-002",
        "countryCode": "FR",
        "senderName": "LefevreSAV",
        "trafficOrigin": "LOCAL",
        "trafficType": "TRANSACTIONAL",
        "companyName": "Maison Lefèvre SAS",
        "sirenNumber": "552100554",
        "companyWebsite": "https://www.maison-lefevre.fr",
        "contactEmailAddress": "claire.martin@maison-lefevre.fr",
        "useCase": "Customer care",
        "messageSample": "Votre commande {numero} est prete. Retrait en magasin sous 7 jours.",
    },
    {
        "reference": "SOLANA-ES-ALPHA-001",
        "countryCode": "ES",
        "senderName": "SOLANA",
        "trafficOrigin": "LOCAL",
        "trafficType": "PROMOTIONAL",
        "additionalContactEmails": "lucia.fernandez@viajessolana.es",
        "companyName": "Viajes Solana S.L.",
        "taxIdentificationNumber": "B87654321",
        "companyWebsite": "https://www.viajessolana.es",
        "useCase": "Marketing and promotions",
        "messageSample": "Solana: vuelos a Canarias desde 39 EUR este fin de semana. Baja: responde BAJA",
        "brandOwnershipProof": "documents/solana-trademark-certificate.pdf",
    },
    {
        "reference": "SOLANA-ES-ALPHA-002",
        "countryCode": "ES",
        "senderName": "SolanaTrip",
        "trafficOrigin": "LOCAL",
        "trafficType": "TRANSACTIONAL",
        "additionalContactEmails": "lucia.fernandez@viajessolana.es",
        "companyName": "Viajes Solana S.L.",
        "taxIdentificationNumber": "B87654321",
        "companyWebsite": "https://www.viajessolana.es",
        "useCase": "Transactional notifications",
        "messageSample": "Tu reserva {localizador} esta confirmada. Consulta los detalles en la app.",
        "brandOwnershipProof": "documents/solana-trademark-certificate.pdf",
    },
    {
        "reference": "ROSSI-IT-ALPHA-001",
        "countryCode": "IT",
        "senderName": "FarmRossi",
        "trafficOrigin": "LOCAL",
        "trafficType": "TRANSACTIONAL",
        "companyName": "Farmacia Rossi S.r.l.",
        "vatNumber": "IT01234567890",
        "certifiedEmailAddress": "farmaciarossi@pec.it",
        "legalRepresentative": "Giulia Rossi",
        "chamberOfCommerceExtract": "documents/farmacia-rossi-visura-camerale.pdf",
        "useCase": "Customer care",
        "messageSample": "La sua ricetta e pronta per il ritiro presso Farmacia Rossi, via Roma 12.",
    },
    {
        "reference": "LAGOSFRESH-NG-ALPHA-001",
        "countryCode": "NG",
        "senderName": "LagosFresh",
        "trafficOrigin": "LOCAL",
        "trafficType": "PROMOTIONAL",
        "additionalContactEmails": "chinedu.okeke@lagosfresh.ng",
        "companyName": "Lagos Fresh Foods Ltd",
        "cacRegistrationNumber": "RC1234567",
        "companyWebsite": "https://www.lagosfresh.ng",
        "contactPhoneNumber": "+2348031234567",
        "letterOfAuthorisation": "documents/lagos-fresh-letter-of-authorisation.pdf",
        "useCase": "Marketing and promotions",
        "dndConfirmation": NG_DND,
    },
    {
        "reference": "BHARAT-IN-ALPHA-001",
        "countryCode": "IN",
        "senderName": "BKIRNA",
        "trafficOrigin": "LOCAL",
        "trafficType": "TRANSACTIONAL",
        "companyName": "Bharat Kirana Pvt Ltd",
        "principalEntityId": "1201159876543210987",
        "dltPlatform": "Jio TrueConnect",
        "headerType": "Transactional",
        "dltTemplateSheet": "documents/bharat-kirana-dlt-templates.xlsx",
        "contactEmailAddress": "arjun.mehta@bharatkirana.in",
        "telemarketerChainConsent": IN_CHAIN,
    },
    {
        "reference": "THAMES-IN-ALPHA-001",
        "countryCode": "IN",
        "senderName": "THAMES",
        "trafficOrigin": "INTERNATIONAL",
        "trafficType": "TRANSACTIONAL",
        "companyName": "Thames Parcel Ltd",
        "companyWebsite": "https://www.thamesparcel.co.uk",
        "countryOfIncorporation": "GB",
        "messageSample": "Your Thames Parcel delivery {tracking} has left our London hub.",
    },
    {
        "reference": "BRIGHTLINE-US-ALPHA-001",
        "countryCode": "US",
        "senderName": "BRIGHTLINE",
        "trafficOrigin": "LOCAL",
        "trafficType": "TRANSACTIONAL",
        "companyName": "Brightline Dental LLC",
        "companyWebsite": "https://www.brightlinedental.com",
        "messageSample": "Reminder: your Brightline Dental appointment is tomorrow at 9:30 AM.",
        "_invalid": "alphanumeric senders are not available in the US (RR-ALPHA-UNAVAILABLE404)",
    },
]

# ---------------------------------------------------------------------------------------
# requests.xlsx: NUMBER_PURCHASE sheet
# ---------------------------------------------------------------------------------------
XLSX_NUMBER = [
    {
        "reference": "ACME-HR-NUM-001",
        "countryCode": "HR",
        "numberType": "VIRTUAL_LONG_NUMBER",
        "capabilities": "SMS, VOICE",
        "quantity": 2,
        "clientType": "LOCAL",
        "applicationId": "acme-retail",
        "entityId": "acme-hr",
        "companyName": "Acme Retail d.o.o.",
        "vatNumber": "HR12345678901",
        "useCase": "Notifications",
        "expectedMonthlyMessages": 40000,
        "companyWebsite": "https://www.acme-retail.hr",
        "contactPhoneNumber": "+385912345678",
        "companyRegistrationDocument": "documents/acme-hr-registration.pdf",
        "registrationConsent": HR_CONSENT,
    },
    {
        "reference": "ADRIA-HR-NUM-001",
        "countryCode": "HR",
        "numberType": "VIRTUAL_LONG_NUMBER",
        "capabilities": "SMS",
        "quantity": 1,
        "clientType": "LOCAL",
        "additionalContactEmails": "tomislav.peric@adriabanka.hr",
        "companyName": "Adria Banka d.d.",
        "vatNumber": "HR98765432109",
        "useCase": "OTP",
        "expectedMonthlyMessages": 1200000,
        "companyEmailAddresses": "tomislav.peric@adriabanka.hr\ndigital@adriabanka.hr",
        "companyWebsite": "https://www.adriabanka.hr",
        "companyRegistrationDocument": "documents/adria-banka-court-register-extract.pdf",
        "registrationConsent": HR_CONSENT,
    },
    {
        "reference": "ADRIA-HR-NUM-002",
        "countryCode": "HR",
        "numberType": "VIRTUAL_LONG_NUMBER",
        "capabilities": "VOICE",
        "quantity": 3,
        "clientType": "LOCAL",
        "additionalContactEmails": "tomislav.peric@adriabanka.hr",
        "companyName": "Adria Banka d.d.",
        "vatNumber": "HR98765432109",
        "useCase": "Alerts",
        "companyWebsite": "https://www.adriabanka.hr",
        "contactPhoneNumber": "+385981234567",
        "companyRegistrationDocument": "documents/adria-banka-court-register-extract.pdf",
        "registrationConsent": HR_CONSENT,
    },
    {
        "reference": "NORDLICHT-DE-NUM-001",
        "countryCode": "DE",
        "numberType": "SHORT_CODE",
        "capabilities": "SMS",
        "quantity": 1,
        "companyName": "Nordlicht Versicherung AG",
        "companyPhoneNumber": "+4940123456789",
        "contactEmailAddress": "jonas.weber@nordlicht-versicherung.de",
        "useCaseDescription": "Two-way claims service: customers text SCHADEN to report a claim"
        " and receive status updates by SMS.",
        "serviceName": "Nordlicht Schadenservice",
        "messageExample": "Ihre Schadenmeldung ist eingegangen. Antworten Sie mit STATUS fuer Updates.",
        "monthlyOutboundSmsEstimate": 80000,
        "monthlyInboundSmsEstimate": 15000,
        "typesOfTraffic": "Two-way conversational",
        "brandName": "Nordlicht",
        "preferredShortCode": "44556",
    },
    {
        "reference": "KESSLER-DE-NUM-001",
        "countryCode": "DE",
        "numberType": "SHORT_CODE",
        "capabilities": "SMS",
        "quantity": 1,
        "additionalContactEmails": "lena.kessler@brauhaus-kessler.de",
        "companyName": "Brauhaus Kessler GmbH",
        "companyPhoneNumber": "+49891234567",
        "contactEmailAddress": "lena.kessler@brauhaus-kessler.de",
        "useCaseDescription": "Summer beer garden campaign: customers text PROST to join and"
        " receive weekly offers.",
        "serviceName": "Kessler Biergarten",
        "messageExample": "Kessler Biergarten: Heute 2 fuer 1 auf alle Helles bis 18 Uhr! Abmelden: STOP",
        "monthlyInboundSmsEstimate": 2000,
        "typesOfTraffic": "Promotional",
        "brandName": "Kessler",
        "_invalid": "monthlyOutboundSmsEstimate is required and left empty",
    },
    {
        "reference": "THAMES-GB-NUM-001",
        "countryCode": "GB",
        "numberType": "VIRTUAL_LONG_NUMBER",
        "capabilities": "SMS, VOICE",
        "quantity": 5,
        "clientType": "LOCAL",
        "additionalContactEmails": "priya.shah@thamesparcel.co.uk",
        "companyName": "Thames Parcel Ltd",
        "addressLine": "Unit 4, Riverside Trading Estate, 12 Wharf Road",
        "city": "London",
        "postcode": "SE1 9PG",
        "proofOfAddress": "documents/thames-parcel-utility-bill.pdf",
        "useCase": "Two-way customer care",
    },
    {
        "reference": "THAMES-GB-NUM-002",
        "countryCode": "GB",
        "numberType": "VIRTUAL_LONG_NUMBER",
        "capabilities": "VOICE",
        "quantity": 2,
        "clientType": "LOCAL",
        "companyName": "Thames Parcel Ltd",
        "addressLine": "Unit 4, Riverside Trading Estate, 12 Wharf Road",
        "city": "London",
        "postcode": "SE1 9PG",
        "proofOfAddress": "documents/thames-parcel-utility-bill.pdf",
        "useCase": "Voice and SMS contact centre",
    },
    {
        "reference": "THAMES-GB-NUM-003",
        "countryCode": "GB",
        "numberType": "VIRTUAL_LONG_NUMBER",
        "capabilities": "SMS",
        "quantity": 3,
        "clientType": "LOCAL",
        "companyName": "Thames Parcel Ltd",
        "addressLine": "Bay 7, Trafford Park Logistics Centre",
        "city": "Manchester",
        "postcode": "M17 1PA",
        "proofOfAddress": "documents/thames-parcel-manchester-lease.pdf",
        "useCase": "Notifications",
        "_invalid": "proofOfAddress names documents/thames-parcel-manchester-lease.pdf,"
        " which is not in samples/documents/",
    },
    {
        "reference": "NORDLICHT-GB-NUM-001",
        "countryCode": "GB",
        "numberType": "VIRTUAL_LONG_NUMBER",
        "capabilities": "SMS, VOICE",
        "quantity": 2,
        "clientType": "INTERNATIONAL",
        "companyName": "Nordlicht Versicherung AG",
        "companyWebsite": "https://www.nordlicht-versicherung.de",
        "useCase": "Notifications",
        "endUserDeclaration": GB_END_USER,
    },
    {
        "reference": "TULIP-NL-NUM-001",
        "countryCode": "NL",
        "numberType": "VIRTUAL_LONG_NUMBER",
        "capabilities": "SMS, VOICE",
        "quantity": 4,
        "additionalContactEmails": "sanne.devries@tulipenergie.nl",
        "companyName": "Tulip Energie B.V.",
        "chamberOfCommerceNumber": "34567890",
        "companyWebsite": "https://www.tulipenergie.nl",
        "contractTermYears": 2,
        "numberPlanCompliance": NL_PLAN,
    },
    {
        "reference": "TULIP-NL-NUM-002",
        "countryCode": "NL",
        "numberType": "VIRTUAL_LONG_NUMBER",
        "capabilities": "SMS",
        "quantity": 10,
        "additionalContactEmails": "sanne.devries@tulipenergie.nl",
        "companyName": "Tulip Energie B.V.",
        "chamberOfCommerceNumber": "34567890",
        "contractTermYears": 5,
        "numberPlanCompliance": NL_PLAN,
    },
    {
        "reference": "FJORD-SE-NUM-001",
        "countryCode": "SE",
        "numberType": "VIRTUAL_LONG_NUMBER",
        "capabilities": "SMS",
        "quantity": 3,
        "additionalContactEmails": "erik.lindqvist@fjordlogistik.se",
    },
    {
        "reference": "FJORD-SE-NUM-002",
        "countryCode": "SE",
        "numberType": "VIRTUAL_LONG_NUMBER",
        "capabilities": "SMS;VOICE",
        "quantity": 1,
        "additionalContactEmails": "erik.lindqvist@fjordlogistik.se",
    },
    {
        "reference": "BRIGHTLINE-US-NUM-001",
        "countryCode": "US",
        "numberType": "TOLL_FREE_NUMBER",
        "capabilities": "SMS, VOICE",
        "quantity": 2,
        "additionalContactEmails": "megan.cole@brightlinedental.com",
    },
    {
        "reference": "THAMES-US-NUM-001",
        "countryCode": "US",
        "numberType": "TOLL_FREE_NUMBER",
        "capabilities": "SMS, MMS",
        "quantity": 1,
    },
    {
        "reference": "BRIGHTLINE-US-NUM-002",
        "countryCode": "US",
        "numberType": "TEN_DIGIT_LONG_CODE",
        "capabilities": "SMS, VOICE",
        "quantity": 1,
        "state": "IN",
        "npa": "317",
        "nxx": "909",
    },
    {
        "reference": "BRIGHTLINE-US-NUM-003",
        "countryCode": "US",
        "numberType": "TEN_DIGIT_LONG_CODE",
        "capabilities": "SMS",
        "quantity": 5,
        "state": "TX",
        "npa": "512",
    },
    {
        "reference": "BRIGHTLINE-US-NUM-004",
        "countryCode": "US",
        "numberType": "TEN_DIGIT_LONG_CODE",
        "capabilities": "SMS, MMS",
        "quantity": 3,
        "state": "NY",
    },
]

# ---------------------------------------------------------------------------------------
# requests.xlsx: RCS_SENDER_LAUNCH sheet (every senderName once: a sender launches in one
# country only)
# ---------------------------------------------------------------------------------------
XLSX_RCS = [
    {
        "reference": "ACME-HR-RCS-001",
        "countryCode": "HR",
        "senderName": "Acme Retail",
        "trafficOrigin": "LOCAL",
        "applicationId": "acme-retail",
        "entityId": "acme-hr",
        "legalBrandCompanyName": "Acme Retail d.o.o.",
        "stockExchange": "Zagreb Stock Exchange (ZSE)",
        "contactPersonEmailAddresses": "ivana.babic@acme-retail.hr; marko.horvat@acme-retail.hr",
        "contactPersonPhoneNumber": "+385912345678",
        "brandContactEmail": "ivana.babic@acme-retail.hr",
        "companyPhoneNumber": "+38516000600",
        "attestationLetter": "documents/acme-retail-rcs-attestation-letter.pdf",
        "stopMessage": "Posaljite STOP za odjavu.",
        "agentUseCase": "Promotional",
        "privacyPolicyUrl": "https://www.acme-retail.hr/privatnost",
    },
    {
        "reference": "ADRIA-HR-RCS-001",
        "countryCode": "HR",
        "senderName": "Adria Banka",
        "trafficOrigin": "LOCAL",
        "excludedCarriers": "Telemach",
        "legalBrandCompanyName": "Adria Banka d.d.",
        "contactPersonEmailAddresses": "tomislav.peric@adriabanka.hr",
        "contactPersonPhoneNumber": "+385981234567",
        "brandContactEmail": "tomislav.peric@adriabanka.hr",
        "companyPhoneNumber": "+38514829100",
        "attestationLetter": "documents/adria-banka-rcs-attestation-letter.pdf",
        "stopMessage": "STOP",
        "agentUseCase": "OTP",
        "privacyPolicyUrl": "https://www.adriabanka.hr/zastita-podataka",
    },
    {
        "reference": "NORDLICHT-DE-RCS-001",
        "countryCode": "DE",
        "senderName": "Nordlicht Versicherung",
        "trafficOrigin": "LOCAL",
        "excludedCarriers": "1&1",
        "additionalContactEmails": "jonas.weber@nordlicht-versicherung.de",
        "legalBrandCompanyName": "Nordlicht Versicherung AG",
        "stockExchange": "Deutsche Börse (Xetra)",
        "contactPersonEmailAddresses": "jonas.weber@nordlicht-versicherung.de",
        "contactPersonPhoneNumber": "+4915112345678",
        "brandContactEmail": "sabine.koch@nordlicht-versicherung.de",
        "companyPhoneNumber": "+4940123456789",
        "attestationLetter": "documents/nordlicht-rcs-attestation-letter.pdf",
        "stopMessage": "Senden Sie STOPP, um keine Nachrichten mehr zu erhalten.",
        "agentUseCase": "Multi-use",
        "privacyPolicyUrl": "https://www.nordlicht-versicherung.de/datenschutz",
        "impressumUrl": "https://www.nordlicht-versicherung.de/impressum",
    },
    {
        "reference": "THAMES-GB-RCS-001",
        "countryCode": "GB",
        "senderName": "Thames Parcel",
        "trafficOrigin": "LOCAL",
        "excludedCarriers": "Three UK",
        "legalBrandCompanyName": "Thames Parcel Ltd",
        "contactPersonEmailAddresses": "priya.shah@thamesparcel.co.uk\ndaniel.okafor@thamesparcel.co.uk",
        "contactPersonPhoneNumber": "+447911123456",
        "brandContactEmail": "priya.shah@thamesparcel.co.uk",
        "companyPhoneNumber": "+442079460123",
        "attestationLetter": "documents/thames-parcel-rcs-attestation-letter.pdf",
        "stopMessage": "Reply STOP to opt out",
        "agentUseCase": "Transactional",
        "privacyPolicyUrl": "https://www.thamesparcel.co.uk/privacy",
        "companyRegistrationNumber": "09876543",
        "customerSupportEmail": "help@thamesparcel.co.uk",
    },
    {
        "reference": "HARBOUR-GB-RCS-001",
        "countryCode": "GB",
        "senderName": "Harbour & Finch",
        "trafficOrigin": "LOCAL",
        "legalBrandCompanyName": "Harbour & Finch Ltd",
        "contactPersonEmailAddresses": "olivia.finch@harbourfinch",
        "contactPersonPhoneNumber": "+447400123456",
        "brandContactEmail": "olivia.finch@harbourfinch.co.uk",
        "companyPhoneNumber": "+442071838750",
        "attestationLetter": "documents/harbour-finch-rcs-attestation-letter.pdf",
        "stopMessage": "Reply STOP to unsubscribe",
        "agentUseCase": "Promotional",
        "privacyPolicyUrl": "https://www.harbourfinch.co.uk/privacy",
        "companyRegistrationNumber": "SC123456",
        "_invalid": "contactPersonEmailAddresses olivia.finch@harbourfinch is not a complete"
        " email address (the domain lacks .co.uk)",
    },
    {
        "reference": "SOLANA-ES-RCS-001",
        "countryCode": "ES",
        "senderName": "Viajes Solana",
        "trafficOrigin": "LOCAL",
        "excludedCarriers": "Digi",
        "legalBrandCompanyName": "Viajes Solana S.L.",
        "contactPersonEmailAddresses": "lucia.fernandez@viajessolana.es",
        "contactPersonPhoneNumber": "+34612345678",
        "brandContactEmail": "lucia.fernandez@viajessolana.es",
        "companyPhoneNumber": "+34911234567",
        "attestationLetter": "documents/solana-rcs-attestation-letter.pdf",
        "stopMessage": "Envia BAJA para no recibir mas mensajes.",
        "agentUseCase": "Multi-use",
        "privacyPolicyUrl": "https://www.viajessolana.es/privacidad",
    },
    {
        "reference": "SOLANA-BR-RCS-001",
        "countryCode": "BR",
        "senderName": "Solana Viagens",
        "trafficOrigin": "INTERNATIONAL",
        "additionalContactEmails": "lucia.fernandez@viajessolana.es",
        "legalBrandCompanyName": "Viajes Solana S.L.",
        "contactPersonEmailAddresses": "rafael.souza@viajessolana.com.br; lucia.fernandez@viajessolana.es",
        "contactPersonPhoneNumber": "+5511987654321",
        "brandContactEmail": "lucia.fernandez@viajessolana.es",
        "companyPhoneNumber": "+551130405060",
        "attestationLetter": "documents/solana-rcs-attestation-letter.pdf",
        "stopMessage": "Envie SAIR para cancelar.",
        "agentUseCase": "Promotional",
        "privacyPolicyUrl": "https://www.viajessolana.com.br/privacidade",
        "cnpj": "12.345.678/0001-95",
        "localRepresentativeName": "Rafael Souza",
        "localRepresentationDocuments": "documents/solana-br-power-of-attorney.pdf;"
        " documents/solana-br-representative-appointment.pdf",
    },
    {
        "reference": "MERCADO-BR-RCS-001",
        "countryCode": "BR",
        "senderName": "Mercado Verde",
        "trafficOrigin": "LOCAL",
        "excludedCarriers": "TIM",
        "legalBrandCompanyName": "Mercado Verde Comércio de Alimentos Ltda.",
        "stockExchange": "B3 (Brasil, Bolsa, Balcão)",
        "contactPersonEmailAddresses": "ana.lima@mercadoverde.com.br",
        "contactPersonPhoneNumber": "+5511912345678",
        "brandContactEmail": "ana.lima@mercadoverde.com.br",
        "companyPhoneNumber": "+551140028922",
        "attestationLetter": "documents/mercado-verde-attestation-letter.png",
        "stopMessage": "SAIR",
        "agentUseCase": "Promotional",
        "privacyPolicyUrl": "https://www.mercadoverde.com.br/privacidade",
        "cnpj": "98765432000110",
    },
    {
        "reference": "OAXACA-MX-RCS-001",
        "countryCode": "MX",
        "senderName": "Café Oaxaca",
        "trafficOrigin": "LOCAL",
        "excludedCarriers": "AT&T México; Movistar México",
        "legalBrandCompanyName": "Cafetería Oaxaca S.A. de C.V.",
        "contactPersonEmailAddresses": "diego.ramirez@cafeoaxaca.mx",
        "contactPersonPhoneNumber": "+525512345678",
        "brandContactEmail": "diego.ramirez@cafeoaxaca.mx",
        "companyPhoneNumber": "+525555123456",
        "attestationLetter": "documents/cafe-oaxaca-attestation-letter.pdf",
        "stopMessage": "Envía BAJA para dejar de recibir mensajes.",
        "agentUseCase": "Promotional",
        "privacyPolicyUrl": "https://www.cafeoaxaca.mx/aviso-de-privacidad",
        "rfc": "COA150312AB1",
    },
]

# ---------------------------------------------------------------------------------------
# requests.csv: one sheet with a `type` column. References, alphanumeric senders and RCS
# senders differ from the workbook's, and the alphanumeric countries stay within 2 pending
# requests per country counting both files, so both files can run against one account.
# ---------------------------------------------------------------------------------------
CSV_ROWS = [
    {
        "reference": "DESERT-AE-ALPHA-001",
        "type": ALPHA,
        "countryCode": "AE",
        "senderName": "DesertBloom",
        "trafficType": "PROMOTIONAL",
        "additionalContactEmails": "fatima.alhashimi@desertbloom.ae\nomar.khalil@desertbloom.ae",
        "companyName": "Desert Bloom Flowers L.L.C.",
        "tradeLicenceNumber": "DED-784512",
        "tradeLicenceDocuments": "documents/desert-bloom-trade-licence-p1.png\n"
        "documents/desert-bloom-trade-licence-p2.png",
        "nocLetter": "documents/desert-bloom-noc-letter.pdf",
        "useCase": "Marketing and promotions",
        "messageSample": "Desert Bloom: 25% off Eid bouquets until Friday. Order at desertbloom.ae",
    },
    {
        "reference": "DESERT-AE-ALPHA-002",
        "type": ALPHA,
        "countryCode": "AE",
        "senderName": "DBloomOTP",
        "trafficType": "TRANSACTIONAL",
        "companyName": "Desert Bloom Flowers L.L.C.",
        "tradeLicenceNumber": "DED-784512",
        "tradeLicenceDocuments": "documents/desert-bloom-trade-licence-p1.png;"
        " documents/desert-bloom-trade-licence-p2.png",
        "nocLetter": "documents/desert-bloom-noc-letter.pdf",
        "useCase": "One-time passwords (OTP)",
        "messageSample": "Your Desert Bloom login code is 734120. It expires in 5 minutes.",
    },
    {
        "reference": "SAFARI-KE-ALPHA-001",
        "type": ALPHA,
        "countryCode": "KE",
        "senderName": "SafariMart",
        "trafficType": "TRANSACTIONAL",
        "companyName": "Safari Mart Limited",
        "kraPin": "P051234567X",
        "certificateOfIncorporation": "documents/safari-mart-certificate-of-incorporation.pdf",
        "senderIdApplicationForm": "documents/safari-mart-sender-id-application.docx",
        "useCase": "Customer care",
        "messageSample": "Safari Mart: your order {number} is ready for pickup at our Westlands branch.",
    },
    {
        "reference": "NAJMA-SA-ALPHA-001",
        "type": ALPHA,
        "countryCode": "SA",
        "senderName": "NAJMA",
        "trafficType": "TRANSACTIONAL",
        "companyName": "Najma Trading Company",
        "companyNameArabic": "شركة نجمة التجارية",
        "commercialRegistrationNumber": "1010123456",
        "senderRegistrationLetter": "documents/najma-sender-registration-letter.pdf",
        "useCase": "Transactional notifications",
        "messageSample": "Your Najma order {number} has been shipped and arrives in 2 days.",
    },
    {
        "reference": "ROSSI-IT-ALPHA-002",
        "type": ALPHA,
        "countryCode": "IT",
        "senderName": "RossiSalut",
        "trafficType": "TRANSACTIONAL",
        "companyName": "Farmacia Rossi S.r.l.",
        "vatNumber": "01234567890",
        "certifiedEmailAddress": "farmaciarossi@pec.it",
        "legalRepresentative": "Giulia Rossi",
        "chamberOfCommerceExtract": "documents/farmacia-rossi-visura-camerale.pdf",
        "useCase": "Transactional notifications",
        "messageSample": "Farmacia Rossi: il suo appuntamento per la misurazione della pressione e domani alle 10:00.",
    },
    {
        "reference": "ADRIA-HR-NUM-003",
        "type": NUMBER,
        "countryCode": "HR",
        "numberType": "VIRTUAL_LONG_NUMBER",
        "capabilities": "SMS;VOICE",
        "quantity": 2,
        "clientType": "LOCAL",
        "companyName": "Adria Banka d.d.",
        "vatNumber": "HR98765432109",
        "useCase": "Alerts",
        "companyWebsite": "https://www.adriabanka.hr",
        "companyRegistrationDocument": "documents/adria-banka-court-register-extract.pdf",
        "registrationConsent": HR_CONSENT,
    },
    {
        "reference": "FJORD-SE-NUM-003",
        "type": NUMBER,
        "countryCode": "SE",
        "numberType": "VIRTUAL_LONG_NUMBER",
        "capabilities": "VOICE",
        "quantity": 2,
    },
    {
        "reference": "TULIP-NL-NUM-003",
        "type": NUMBER,
        "countryCode": "NL",
        "numberType": "VIRTUAL_LONG_NUMBER",
        "capabilities": "VOICE",
        "quantity": 1,
        "companyName": "Tulip Energie B.V.",
        "chamberOfCommerceNumber": "34567890",
        "companyWebsite": "https://www.tulipenergie.nl",
        "contractTermYears": 1,
        "numberPlanCompliance": NL_PLAN,
    },
    {
        "reference": "BRIGHTLINE-US-NUM-005",
        "type": NUMBER,
        "countryCode": "US",
        "numberType": "TEN_DIGIT_LONG_CODE",
        "capabilities": "SMS",
        "quantity": 2,
        "state": "CA",
        "npa": "415",
        "nxx": "362",
    },
    {
        "reference": "BRIGHTLINE-US-NUM-006",
        "type": NUMBER,
        "countryCode": "US",
        "numberType": "TOLL_FREE_NUMBER",
        "capabilities": "SMS, VOICE, MMS",
        "quantity": 60,
        "_invalid": "quantity 60 is more than the 49 numbers one request may order",
    },
    {
        "reference": "THAMES-GB-NUM-004",
        "type": NUMBER,
        "countryCode": "GB",
        "numberType": "VIRTUAL_LONG_NUMBER",
        "capabilities": "SMS, VOICE",
        "quantity": 1,
        "clientType": "LOCAL",
        "companyName": "Thames Parcel Ltd",
        "addressLine": "Unit 4, Riverside Trading Estate, 12 Wharf Road",
        "city": "London",
        "postcode": "SE1 9PG",
        "proofOfAddress": "documents/thames-parcel-utility-bill.pdf",
        "useCase": "Notifications",
    },
    {
        "reference": "KESSLER-DE-RCS-001",
        "type": RCS,
        "countryCode": "DE",
        "senderName": "Brauhaus Kessler",
        "trafficOrigin": "LOCAL",
        "excludedCarriers": "Vodafone",
        "legalBrandCompanyName": "Brauhaus Kessler GmbH",
        "contactPersonEmailAddresses": "lena.kessler@brauhaus-kessler.de",
        "contactPersonPhoneNumber": "+4917612345678",
        "brandContactEmail": "lena.kessler@brauhaus-kessler.de",
        "companyPhoneNumber": "+49891234567",
        "attestationLetter": "documents/kessler-rcs-attestation-letter.pdf",
        "stopMessage": "Antworten Sie STOPP zum Abmelden.",
        "agentUseCase": "Promotional",
        "privacyPolicyUrl": "https://www.brauhaus-kessler.de/datenschutz",
        "impressumUrl": "https://www.brauhaus-kessler.de/impressum",
    },
    {
        "reference": "LUZ-MX-RCS-001",
        "type": RCS,
        "countryCode": "MX",
        "senderName": "Farmacias Luz",
        "trafficOrigin": "LOCAL",
        "legalBrandCompanyName": "Farmacias Luz S.A. de C.V.",
        "stockExchange": "Bolsa Mexicana de Valores (BMV)",
        "contactPersonEmailAddresses": "paola.garcia@farmaciasluz.mx",
        "contactPersonPhoneNumber": "+525587654321",
        "brandContactEmail": "paola.garcia@farmaciasluz.mx",
        "companyPhoneNumber": "+528112345678",
        "attestationLetter": "documents/farmacias-luz-attestation-letter.pdf",
        "stopMessage": "Responde BAJA para no recibir mensajes.",
        "agentUseCase": "Transactional",
        "privacyPolicyUrl": "https://www.farmaciasluz.mx/privacidad",
        "rfc": "FLU200101AB9",
    },
    {
        "reference": "THAMES-GB-RCS-002",
        "type": RCS,
        "countryCode": "GB",
        "senderName": "Thames Parcel Returns",
        "trafficOrigin": "LOCAL",
        "excludedCarriers": "Vodafone",
        "legalBrandCompanyName": "Thames Parcel Ltd",
        "contactPersonEmailAddresses": "daniel.okafor@thamesparcel.co.uk",
        "contactPersonPhoneNumber": "+447912345678",
        "brandContactEmail": "priya.shah@thamesparcel.co.uk",
        "companyPhoneNumber": "+442079460123",
        "attestationLetter": "documents/thames-parcel-rcs-attestation-letter.pdf",
        "stopMessage": "Reply STOP to opt out",
        "agentUseCase": "Transactional",
        "privacyPolicyUrl": "https://www.thamesparcel.co.uk/privacy",
        "companyRegistrationNumber": "09876543",
        "_invalid": 'excludedCarriers "Vodafone" is not a GB carrier name (Infobip lists "Vodafone UK");'
        " Infobip answers RR-RCS-SENDER-INVALID-CARRIERS400",
    },
]

# The file THAMES-GB-NUM-003 names on purpose without it existing.
MISSING_DOCUMENT = "documents/thames-parcel-manchester-lease.pdf"

# ---------------------------------------------------------------------------------------
# Documents: (file name, kind, text). Small, valid files whose content names what they are.
# ---------------------------------------------------------------------------------------
DOCUMENT_FILES = [
    (
        "acme-hr-registration.pdf",
        "pdf",
        [
            "Trgovacki sud u Zagrebu - Court Register Extract",
            "Acme Retail d.o.o.",
            "OIB 12345678901, MBS 080123456",
            "Ilica 242, 10000 Zagreb, Croatia",
            "Registered activity: retail trade",
        ],
    ),
    (
        "acme-hr-registration-form.docx",
        "docx",
        [
            "Infobip sender registration form (Croatia)",
            "Company: Acme Retail d.o.o.",
            "Sender name: ACME",
            "Signed: Ivana Babic, Marketing Director",
        ],
    ),
    (
        "adria-banka-court-register-extract.pdf",
        "pdf",
        [
            "Trgovacki sud u Zagrebu - Court Register Extract",
            "Adria Banka d.d.",
            "OIB 98765432109, MBS 080987654",
            "Trg bana Jelacica 5, 10000 Zagreb, Croatia",
            "Registered activity: banking",
        ],
    ),
    (
        "nordlicht-letter-of-authorisation.pdf",
        "pdf",
        [
            "Letter of Authorisation",
            "Nordlicht Versicherung AG, HRB 123456, Amtsgericht Hamburg",
            "We authorise Infobip to register the sender names Nordlicht and NLSchaden in Germany.",
            "Hamburg, signed: Sabine Koch, Head of Digital",
        ],
    ),
    (
        "thames-parcel-utility-bill.pdf",
        "pdf",
        [
            "Thames Water - Business Account Statement",
            "Thames Parcel Ltd",
            "Unit 4, Riverside Trading Estate, 12 Wharf Road, London SE1 9PG",
            "Statement date: 02 December 2024",
        ],
    ),
    (
        "solana-trademark-certificate.pdf",
        "pdf",
        [
            "Oficina Espanola de Patentes y Marcas - Certificado de registro",
            "Marca: SOLANA",
            "Titular: Viajes Solana S.L., CIF B87654321",
            "Clase 39: organizacion de viajes",
        ],
    ),
    (
        "farmacia-rossi-visura-camerale.pdf",
        "pdf",
        [
            "Camera di Commercio di Milano - Visura camerale",
            "Farmacia Rossi S.r.l.",
            "Partita IVA 01234567890",
            "Legale rappresentante: Giulia Rossi",
            "Data: 18 novembre 2024",
        ],
    ),
    (
        "lagos-fresh-letter-of-authorisation.pdf",
        "pdf",
        [
            "Letter of Authorisation",
            "Lagos Fresh Foods Ltd, RC1234567",
            "We authorise Infobip to register the sender ID LagosFresh in Nigeria.",
            "Signed: Chinedu Okeke, Managing Director",
        ],
    ),
    (
        "bharat-kirana-dlt-templates.xlsx",
        "xlsx",
        [
            ("templateId", "header", "category", "template"),
            (
                "1207170000000000001",
                "BKIRNA",
                "Transactional",
                "Dear {#var#}, your order {#var#} is out for delivery. - Bharat Kirana",
            ),
            (
                "1207170000000000002",
                "BKIRNA",
                "Transactional",
                "Your Bharat Kirana OTP is {#var#}. Do not share it with anyone.",
            ),
        ],
    ),
    (
        "acme-retail-rcs-attestation-letter.pdf",
        "pdf",
        [
            "RCS Attestation Letter",
            "Acme Retail d.o.o. authorises Infobip to launch the RCS",
            "sender 'Acme Retail' in Croatia.",
            "Signed: Ivana Babic, Marketing Director",
        ],
    ),
    (
        "adria-banka-rcs-attestation-letter.pdf",
        "pdf",
        [
            "RCS Attestation Letter",
            "Adria Banka d.d. authorises Infobip to launch the RCS",
            "sender 'Adria Banka' in Croatia.",
            "Signed: Tomislav Peric, Head of Digital Channels",
        ],
    ),
    (
        "nordlicht-rcs-attestation-letter.pdf",
        "pdf",
        [
            "RCS Attestation Letter",
            "Nordlicht Versicherung AG authorises Infobip to launch the RCS",
            "sender 'Nordlicht Versicherung' in Germany.",
            "Signed: Sabine Koch, Head of Digital",
        ],
    ),
    (
        "thames-parcel-rcs-attestation-letter.pdf",
        "pdf",
        [
            "RCS Attestation Letter",
            "Thames Parcel Ltd (company no. 09876543) authorises Infobip",
            "to launch the RCS senders 'Thames Parcel' and 'Thames Parcel Returns' in the UK.",
            "Signed: Priya Shah, Customer Experience Director",
        ],
    ),
    (
        "harbour-finch-rcs-attestation-letter.pdf",
        "pdf",
        [
            "RCS Attestation Letter",
            "Harbour & Finch Ltd (SC123456) authorises Infobip",
            "to launch the RCS sender 'Harbour & Finch' in the UK.",
            "Signed: Olivia Finch, Director",
        ],
    ),
    (
        "solana-rcs-attestation-letter.pdf",
        "pdf",
        [
            "RCS Attestation Letter",
            "Viajes Solana S.L. authorises Infobip to launch the RCS",
            "senders 'Viajes Solana' in Spain and 'Solana Viagens' in Brazil.",
            "Signed: Lucia Fernandez, Directora de Marketing",
        ],
    ),
    (
        "solana-br-power-of-attorney.pdf",
        "pdf",
        [
            "Procuracao - Power of Attorney",
            "Viajes Solana S.L. appoints Rafael Souza",
            "as its legal representative in Brazil.",
            "Madrid, 14 October 2024",
        ],
    ),
    (
        "solana-br-representative-appointment.pdf",
        "pdf",
        [
            "Termo de nomeacao de representante legal",
            "Rafael Souza, CPF 123.456.789-09",
            "accepts the appointment as local representative of Viajes Solana S.L.",
        ],
    ),
    ("mercado-verde-attestation-letter.png", "png", ["Mercado Verde attestation letter"]),
    (
        "cafe-oaxaca-attestation-letter.pdf",
        "pdf",
        [
            "Carta de atestacion RCS",
            "Cafeteria Oaxaca S.A. de C.V. (RFC COA150312AB1)",
            "authorises Infobip to launch the RCS sender 'Cafe Oaxaca' in Mexico.",
            "Firma: Diego Ramirez, Director General",
        ],
    ),
    # Named by requests.csv only.
    ("desert-bloom-trade-licence-p1.png", "png", ["Desert Bloom trade licence, page 1"]),
    ("desert-bloom-trade-licence-p2.png", "png", ["Desert Bloom trade licence, page 2"]),
    (
        "desert-bloom-noc-letter.pdf",
        "pdf",
        [
            "No Objection Certificate",
            "Desert Bloom Flowers L.L.C., licence DED-784512",
            "has no objection to the registration of the sender IDs DesertBloom and DBloomOTP.",
            "Dubai, signed: Fatima Al Hashimi, General Manager",
        ],
    ),
    (
        "safari-mart-certificate-of-incorporation.pdf",
        "pdf",
        [
            "Republic of Kenya - Certificate of Incorporation",
            "Safari Mart Limited",
            "KRA PIN P051234567X",
            "Nairobi, 3 March 2016",
        ],
    ),
    (
        "safari-mart-sender-id-application.docx",
        "docx",
        [
            "Sender ID application form (Kenya)",
            "Company: Safari Mart Limited",
            "Requested sender ID: SafariMart",
            "Signed: Wanjiru Kamau, Operations Manager",
        ],
    ),
    (
        "najma-sender-registration-letter.pdf",
        "pdf",
        [
            "Sender name registration letter (Saudi Arabia)",
            "Najma Trading Company",
            "Commercial registration 1010123456",
            "Requested sender name: NAJMA",
            "Signed and stamped: Khalid Al Otaibi, CEO",
        ],
    ),
    (
        "kessler-rcs-attestation-letter.pdf",
        "pdf",
        [
            "RCS Attestation Letter",
            "Brauhaus Kessler GmbH authorises Infobip to launch the RCS",
            "sender 'Brauhaus Kessler' in Germany.",
            "Muenchen, signed: Lena Kessler, Geschaeftsfuehrerin",
        ],
    ),
    (
        "farmacias-luz-attestation-letter.pdf",
        "pdf",
        [
            "Carta de atestacion RCS",
            "Farmacias Luz S.A. de C.V. (RFC FLU200101AB9)",
            "authorises Infobip to launch the RCS sender 'Farmacias Luz' in Mexico.",
            "Firma: Paola Garcia, Directora Comercial",
        ],
    ),
]

# ---------------------------------------------------------------------------------------
# Templates: the note on each header.
# ---------------------------------------------------------------------------------------
NOTES = {
    "reference": "Optional, recommended. Your own stable ID for this row, e.g. ACME-HR-ALPHA-001."
    " It is copied to the results sheet so you can match each result to your"
    " system. Keep it unique.",
    "countryCode": "Required. The country, as an ISO 3166-1 alpha-2 code in capitals,"
    " e.g. HR, DE, GB, US.",
    "additionalContactEmails": "Optional. Up to 3 email addresses Infobip support may contact"
    " about this request, separated by ; or new lines.",
    "applicationId": "Optional. CPaaS X application ID to link the request to"
    " (up to 255 characters).",
    "entityId": "Optional. CPaaS X entity ID to link the request to (up to 255 characters).",
}
NOTES_BY_TYPE = {
    ALPHA: {
        "senderName": "Required. The alphanumeric sender to register: 3 to 11 characters of"
        " the GSM-7 alphabet (letters, digits, spaces, common punctuation), with"
        " at least one letter, e.g. ACME. One request per sender and country;"
        " Infobip allows 2 pending alphanumeric requests per country.",
        "trafficOrigin": "Optional. LOCAL (your business is based in the country) or"
        " INTERNATIONAL. Some countries ask for different requirements for"
        " each.",
        "trafficType": "Optional. TRANSACTIONAL (OTP, alerts, service notices) or PROMOTIONAL"
        " (marketing). Some countries ask for different requirements for each.",
    },
    NUMBER: {
        "numberType": "Required. SHORT_CODE, VIRTUAL_LONG_NUMBER, TEN_DIGIT_LONG_CODE (US"
        " 10DLC) or TOLL_FREE_NUMBER. In the US, VIRTUAL_LONG_NUMBER is not"
        " offered and SHORT_CODE is ordered in Infobip's web interface only.",
        "capabilities": "Required. One or more of SMS, VOICE, MMS, separated by commas, ;"
        " or new lines, e.g. SMS, VOICE.",
        "quantity": "Optional. How many numbers to order: a whole number from 1 to 49."
        " Empty means 1.",
        "clientType": "Optional. LOCAL: prefer local numbers, fall back to international ones"
        " when there are none. INTERNATIONAL (or empty): international numbers"
        " only. The requirements can differ between the two.",
    },
    RCS: {
        "senderName": "Required. The name of an RCS sender (agent) that exists on your account,"
        " 1 to 255 characters. A sender is launched in one country only.",
        "trafficOrigin": "Required. LOCAL: the business is headquartered in the sender's"
        " country. INTERNATIONAL: headquartered elsewhere.",
        "excludedCarriers": "Optional. Carriers to leave out of the launch, separated by ; or"
        " new lines, spelled exactly as Infobip names them for the country"
        " (e.g. Telemach for HR).",
    },
}
REQUIREMENTS_HEADER = "(requirement keys →)"
REQUIREMENTS_NOTE = (
    "Add one column per requirement key of the country, with the key as its header, exactly"
    " as Infobip's requirements lookup lists it for this type, country and options"
    " (POST /resources/1/requirements-lookup), e.g. companyName, vatNumber,"
    " companyRegistrationDocument. Rename this header to your first key (an empty column"
    " with this header is ignored). Headers match ignoring case, spaces, _ and -.\n"
    "Leave a cell empty where a key does not apply to that row's country.\n"
    "DOCUMENT requirements: the file's path relative to this workbook's folder, e.g."
    " documents/acme-hr-registration.pdf (or an existing documentId).\n"
    "Options: copy the option text exactly.\n"
    "Multiple values (where a requirement allows several): separated by ; or new lines."
)
ENUMS = {
    "trafficOrigin": "LOCAL,INTERNATIONAL",
    "trafficType": "TRANSACTIONAL,PROMOTIONAL",
    "numberType": "SHORT_CODE,VIRTUAL_LONG_NUMBER,TEN_DIGIT_LONG_CODE,TOLL_FREE_NUMBER",
    "clientType": "LOCAL,INTERNATIONAL",
}
TEMPLATE_FILES = {
    ALPHA: "alphanumeric-registration.xlsx",
    NUMBER: "number-purchase.xlsx",
    RCS: "rcs-sender-launch.xlsx",
}


# =======================================================================================
# Catalogue: which entry a row matches, as the sandbox decides (first match wins; a field
# the entry pins must agree when the row gives it; capabilities a subset of the offer's).
# =======================================================================================
def _split(text: str, separators: str = ";\n") -> list[str]:
    return [part.strip() for part in re.split(f"[{separators}]", text) if part.strip()]


def find_entry(catalogue: dict, row: dict, kind: str) -> dict | None:
    asked = _split(str(row.get("capabilities", "")), ",;\n")
    for entry in catalogue["entries"]:
        if entry["type"] != kind or entry["countryCode"] != row["countryCode"]:
            continue
        pinned = ("numberType", "clientType", "trafficOrigin", "trafficType")
        if any(name in entry and row.get(name, entry[name]) != entry[name] for name in pinned):
            continue
        if "capabilities" in entry and not set(asked) <= set(entry["capabilities"]):
            continue
        return entry
    return None


def requirement_columns(catalogue: dict, rows: list[dict], kind_of) -> list[str]:
    """The union of the requirement keys of the entries the rows match, in the order met,
    after checking each row against its entry."""
    columns: list[str] = []
    for row in rows:
        kind = kind_of(row)
        entry = find_entry(catalogue, row, kind)
        given = [
            k
            for k, v in row.items()
            if k not in STANDARD and not k.startswith("_") and v not in ("", None)
        ]
        specs = [] if entry is None else entry.get("requirements", [])
        if "_invalid" not in row:
            if entry is None or "unavailable" in entry:
                sys.exit(f"{row['reference']}: no offer for {kind} {row['countryCode']}")
            keys = {spec["key"] for spec in specs}
            stray = [k for k in given if k not in keys]
            missing = [s["key"] for s in specs if s["required"] and s["key"] not in given]
            if stray or missing:
                sys.exit(f"{row['reference']}: not in its entry {stray}, missing {missing}")
        for key in [spec["key"] for spec in specs] + given:
            if key not in columns:
                columns.append(key)
    return columns


# =======================================================================================
# Writers
# =======================================================================================
def save_workbook(wb: Workbook, path: Path) -> None:
    """Save with fixed timestamps (openpyxl stamps 'now' into the file otherwise)."""
    wb.properties.creator = "resource-batch samples/generate.py"
    wb.properties.created = FIXED_TIME
    buffer = io.BytesIO()
    wb.save(buffer)
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(<)",
                    rb"\g<1>" + stamp.encode() + rb"\g<2>",
                    data,
                )
            target.writestr(
                zipfile.ZipInfo(info.filename, ZIP_TIME), data, compress_type=zipfile.ZIP_DEFLATED
            )


def _fit_widths(ws, headers: list[str], rows: list[list]) -> None:
    for index, header in enumerate(headers, start=1):
        longest = max(
            [len(header)]
            + [
                max((len(line) for line in str(r[index - 1]).split("\n")), default=0)
                for r in rows
                if r[index - 1] is not None
            ]
        )
        ws.column_dimensions[get_column_letter(index)].width = min(max(longest + 2, 10), 60)


def write_sheet(ws, headers: list[str], rows: list[dict]) -> None:
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    values = [
        [row.get(h) if row.get(h) not in ("", None) else None for h in headers] for row in rows
    ]
    for line in values:
        ws.append(line)
    for cells in ws.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, str) and "\n" in cell.value:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "B2"
    ws.auto_filter.ref = ws.dimensions
    _fit_widths(ws, headers, values)


def write_requests_xlsx(catalogue: dict, path: Path) -> None:
    wb = Workbook()
    wb.remove(wb.active)
    for kind, rows in ((ALPHA, XLSX_ALPHA), (NUMBER, XLSX_NUMBER), (RCS, XLSX_RCS)):
        keys = requirement_columns(catalogue, rows, lambda _row, k=kind: k)
        write_sheet(wb.create_sheet(kind), list(COLUMNS_BY_TYPE[kind]) + keys, rows)
    save_workbook(wb, path)


def write_requests_csv(catalogue: dict, path: Path) -> None:
    keys = requirement_columns(catalogue, CSV_ROWS, lambda row: row["type"])
    headers = list(STANDARD) + keys
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(headers)
        for row in CSV_ROWS:
            writer.writerow(["" if row.get(h) is None else str(row.get(h)) for h in headers])


TEMPLATE_ROWS = 2000  # rows whose type fills itself in


def write_template(kind: str, path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = kind
    headers = ["type", *COLUMNS_BY_TYPE[kind], REQUIREMENTS_HEADER]
    ws.append(headers)
    type_note = (
        f"Fills itself in with {kind} once the row has any value (a formula, for the first"
        f" {TEMPLATE_ROWS:,} rows), so that the row keeps its type when the sheet is saved"
        " as CSV, which loses the sheet name."
    )
    notes = {
        **NOTES,
        **NOTES_BY_TYPE[kind],
        REQUIREMENTS_HEADER: REQUIREMENTS_NOTE,
        "type": type_note,
    }
    for index, (cell, header) in enumerate(zip(ws[1], headers, strict=True), start=1):
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        big = header == REQUIREMENTS_HEADER
        cell.comment = Comment(
            f"{header}\n{notes[header]}",
            "resource-batch",
            height=330 if big else 130,
            width=420 if big else 320,
        )
        ws.column_dimensions[get_column_letter(index)].width = max(24, len(header) + 4)
        if header in ENUMS:
            rule = DataValidation(type="list", formula1=f'"{ENUMS[header]}"', allow_blank=True)
            rule.error = f"{header} must be one of {ENUMS[header].replace(',', ', ')}"
            rule.errorTitle = f"Invalid {header}"
            ws.add_data_validation(rule)
            column = get_column_letter(index)
            rule.add(f"{column}2:{column}5000")
    for number in range(2, TEMPLATE_ROWS + 2):
        ws.cell(number, 1, f'=IF(COUNTA(B{number}:AZ{number})=0,"","{kind}")')
    ws.freeze_panes = "A2"
    save_workbook(wb, path)


# -- documents --------------------------------------------------------------------------
def _pdf_text(text: str) -> str:
    if not text.isascii():
        raise ValueError(f"PDF text must be ASCII: {text!r}")
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(lines: list[str]) -> bytes:
    """A one-page PDF 1.4 showing the lines in Helvetica, with a correct xref table."""
    shown = [f"({_pdf_text(lines[0])}) Tj", "/F1 11 Tf"]
    shown += [f"T* ({_pdf_text(line)}) Tj" for line in lines[1:]]
    content = ("BT /F1 16 Tf 18 TL 72 760 Td " + " ".join(shown) + " ET").encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]"
        b" /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def make_png(seed_text: str, width: int = 180, height: int = 240) -> bytes:
    """A greyscale 'scanned page': a title bar, text lines whose lengths come from the
    text (so each file differs), and a signature stroke."""
    lengths = [40 + byte % 100 for byte in hashlib.sha256(seed_text.encode()).digest()[:14]]
    rows = []
    for y in range(height):
        line = bytearray([250] * width)
        if 16 <= y < 28:
            line[16 : width - 16] = bytes([60] * (width - 32))
        block = (y - 44) // 12
        if y >= 44 and (y - 44) % 12 < 4 and block < len(lengths):
            line[16 : 16 + lengths[block]] = bytes([140] * lengths[block])
        if 214 <= y < 226:
            for x in range(110, 164):
                if abs((x * 3 + y * 5) % 17 - 8) < 2:
                    line[x] = 30
        rows.append(b"\x00" + bytes(line))
    raw = zlib.compress(b"".join(rows), 9)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + tag
            + data
            + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    text = chunk(b"tEXt", b"Title\x00" + seed_text.encode("ascii"))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + text
        + chunk(b"IDAT", raw)
        + chunk(b"IEND", b"")
    )


def make_docx(lines: list[str]) -> bytes:
    """A minimal WordprocessingML document: one paragraph per line."""

    def esc(text: str) -> str:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    body = "".join(f"<w:p><w:r><w:t>{esc(line)}</w:t></w:r></w:p>" for line in lines)
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
        "</Types>",
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
        "</Relationships>",
        "word/document.xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body>{body}</w:body></w:document>",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in parts.items():
            archive.writestr(
                zipfile.ZipInfo(name, ZIP_TIME),
                text.encode("utf-8"),
                compress_type=zipfile.ZIP_DEFLATED,
            )
    return buffer.getvalue()


def make_xlsx(title: str, rows: list[tuple[str, ...]]) -> bytes:
    """A minimal SpreadsheetML workbook with one sheet of inline-string cells (openpyxl's
    own output carries a theme and styles that take it past 5 KB)."""

    def esc(text: str) -> str:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    cells = "".join(
        f'<row r="{r}">'
        + "".join(
            f'<c r="{get_column_letter(c)}{r}" t="inlineStr"><is><t>{esc(v)}</t></is></c>'
            for c, v in enumerate(row, start=1)
        )
        + "</row>"
        for r, row in enumerate(rows, start=1)
    )
    head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    parts = {
        "[Content_Types].xml": head
        + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        "</Types>",
        "_rels/.rels": head
        + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>",
        "xl/workbook.xml": head + f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
        f'<sheet name="{esc(title)}" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": head
        + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
        "</Relationships>",
        "xl/worksheets/sheet1.xml": head
        + f'<worksheet xmlns="{main}"><sheetData>{cells}</sheetData></worksheet>',
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in parts.items():
            archive.writestr(
                zipfile.ZipInfo(name, ZIP_TIME),
                text.encode("utf-8"),
                compress_type=zipfile.ZIP_DEFLATED,
            )
    return buffer.getvalue()


def write_documents() -> None:
    DOCUMENTS.mkdir(exist_ok=True)
    for name, kind, content in DOCUMENT_FILES:
        path = DOCUMENTS / name
        if kind == "pdf":
            path.write_bytes(make_pdf(content))
        elif kind == "png":
            path.write_bytes(make_png(content[0]))
        elif kind == "docx":
            path.write_bytes(make_docx(content))
        elif kind == "xlsx":
            path.write_bytes(make_xlsx("DLT templates", content))
    # THAMES-GB-NUM-003 is invalid because this file does not exist.
    (HERE / MISSING_DOCUMENT).unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--catalogue",
        type=Path,
        default=DEFAULT_CATALOGUE,
        help="catalogue JSON the rows are checked against (default: built-in)",
    )
    args = parser.parse_args()
    catalogue = json.loads(args.catalogue.read_text(encoding="utf-8"))
    write_documents()
    write_requests_xlsx(catalogue, HERE / "requests.xlsx")
    write_requests_csv(catalogue, HERE / "requests.csv")
    TEMPLATES.mkdir(exist_ok=True)
    for kind, name in TEMPLATE_FILES.items():
        write_template(kind, TEMPLATES / name)
    for label, rows in (
        ("requests.xlsx", XLSX_ALPHA + XLSX_NUMBER + XLSX_RCS),
        ("requests.csv", CSV_ROWS),
    ):
        invalid = [row for row in rows if "_invalid" in row]
        print(f"{label}: {len(rows)} rows, {len(invalid)} invalid on purpose")
        for row in invalid:
            print(f"  {row['reference']}: {row['_invalid']}")


if __name__ == "__main__":
    main()
