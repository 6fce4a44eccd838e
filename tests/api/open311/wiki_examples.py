"""The example responses of the GeoReport v2 specification (wiki.open311.org/GeoReport_v2),
as documented there, to compare the structure and field names of ours with."""

from __future__ import annotations

SERVICES_XML = """<?xml version="1.0" encoding="utf-8"?>
<services>
    <service>
        <service_code>001</service_code>
        <service_name>Cans left out 24x7</service_name>
        <description>Garbage or recycling cans that have been left out for more than 24 hours after collection. Violators will be cited.</description>
        <metadata>true</metadata>
        <type>realtime</type>
        <keywords>lorem, ipsum, dolor</keywords>
        <group>sanitation</group>
    </service>
    <service>
        <service_code>002</service_code>
        <metadata>true</metadata>
        <type>realtime</type>
        <keywords>lorem, ipsum, dolor</keywords>
        <group>street</group>
        <service_name>Construction plate shifted</service_name>
        <description>Metal construction plate covering the street or sidewalk has been moved.</description>
    </service>
</services>
"""  # noqa: E501

# The JSON examples write codes as 001 (not valid JSON): quoted here.
SERVICES_JSON = [
    {
        "service_code": "001",
        "service_name": "Cans left out 24x7",
        "description": "Garbage or recycling cans that have been left out for more than 24"
        " hours after collection. Violators will be cited.",
        "metadata": True,
        "type": "realtime",
        "keywords": "lorem, ipsum, dolor",
        "group": "sanitation",
    }
]

SERVICE_DEFINITION_XML = """<?xml version="1.0" encoding="utf-8"?>
<service_definition>
    <service_code>DMV66</service_code>
    <attributes>
        <attribute>
            <variable>true</variable>
            <code>WHISHETN</code>
            <datatype>singlevaluelist</datatype>
            <required>true</required>
            <datatype_description></datatype_description>
            <order>1</order>
            <description>What is the ticket/tag/DL number?</description>
            <values>
                <value>
                    <key>123</key>
                    <name>Ford</name>
                </value>
                <value>
                    <key>124</key>
                    <name>Chrysler</name>
                </value>
            </values>
        </attribute>
    </attributes>
</service_definition>
"""

SERVICE_DEFINITION_JSON = {
    "service_code": "DMV66",
    "attributes": [
        {
            "variable": True,
            "code": "WHISHETN",
            "datatype": "singlevaluelist",
            "required": True,
            "datatype_description": None,
            "order": 1,
            "description": "What is the ticket/tag/DL number?",
            "values": [{"key": 123, "name": "Ford"}, {"key": 124, "name": "Chrysler"}],
        }
    ],
}

# POST Service Request: the example request body, form-encoded as clients send it.
POST_BODY = (
    "api_key=xyz&jurisdiction_id=city.gov&service_code=001&lat=37.76524078"
    "&long=-122.4212043&address_string=1234+5th+street&email=smit333%40sfgov.edu"
    "&device_id=tt222111&account_id=123456&first_name=john&last_name=smith&phone=111111111"
    "&description=A+large+sinkhole+is+destroying+the+street"
    "&media_url=http%3A%2F%2Ffarm3.static.flickr.com%2F2002%2F2212426634_5ed477a060.jpg"
    "&attribute[WHISPAWN]=123456&attribute[WHISDORN]=COISL001"
)

POST_RESPONSE_XML = """<?xml version="1.0" encoding="utf-8"?>
<service_requests>
    <request>
        <service_request_id>293944</service_request_id>
        <service_notice>
            The City will inspect and require the responsible party to correct within 24 hours and/or issue a Correction Notice or Notice of Violation of the Public Works Code
        </service_notice>
        <account_id/>
    </request>
</service_requests>
"""  # noqa: E501

POST_RESPONSE_JSON = [
    {
        "service_request_id": 293944,
        "service_notice": "The City will inspect and require the responsible party to correct"
        " within 24 hours and/or issue a Correction Notice or Notice of Violation of the"
        " Public Works Code",
        "account_id": None,
    }
]

REQUESTS_XML = """<?xml version="1.0" encoding="utf-8"?>
<service_requests>
    <request>
        <service_request_id>638344</service_request_id>
        <status>closed</status>
        <status_notes>Duplicate request.</status_notes>
        <service_name>Sidewalk and Curb Issues</service_name>
        <service_code>006</service_code>
        <description></description>
        <agency_responsible></agency_responsible>
        <service_notice></service_notice>
        <requested_datetime>2010-04-14T06:37:38-08:00</requested_datetime>
        <updated_datetime>2010-04-14T06:37:38-08:00</updated_datetime>
        <expected_datetime>2010-04-15T06:37:38-08:00</expected_datetime>
        <address>8TH AVE and JUDAH ST</address>
        <address_id>545483</address_id>
        <zipcode>94122</zipcode>
        <lat>37.762221815</lat>
        <long>-122.4651145</long>
        <media_url>http://city.gov.s3.amazonaws.com/requests/media/638344.jpg </media_url>
    </request>
</service_requests>
"""

REQUESTS_JSON = [
    {
        "service_request_id": 638344,
        "status": "closed",
        "status_notes": "Duplicate request.",
        "service_name": "Sidewalk and Curb Issues",
        "service_code": "006",
        "description": None,
        "agency_responsible": None,
        "service_notice": None,
        "requested_datetime": "2010-04-14T06:37:38-08:00",
        "updated_datetime": "2010-04-14T06:37:38-08:00",
        "expected_datetime": "2010-04-15T06:37:38-08:00",
        "address": "8TH AVE and JUDAH ST",
        "address_id": 545483,
        "zipcode": 94122,
        "lat": 37.762221815,
        "long": -122.4651145,
        "media_url": "http://city.gov.s3.amazonaws.com/requests/media/638344.jpg",
    }
]

ERRORS_XML = """<?xml version="1.0" encoding="utf-8"?>
<errors>
    <error>
        <code>403</code>
        <description>Invalid api_key received -- can't proceed with create_request.</description>
    </error>
</errors>
"""

ERRORS_JSON = [
    {"code": 403, "description": "Invalid api_key received -- can't proceed with create_request."}
]

# Service discovery (wiki.open311.org/Service_Discovery): its fields.
DISCOVERY_XML = """<?xml version="1.0" encoding="utf-8"?>
<discovery>
    <changeset>2011-04-05T17:48:34Z</changeset>
    <contact>You can email or call for assistance api@city.gov +1 (555) 555-5555</contact>
    <key_service>You can request a key here: http://api.city.gov/api_key/request</key_service>
    <endpoints>
        <endpoint>
            <specification>http://wiki.open311.org/GeoReport_v2</specification>
            <url>http://open311.city.gov/v2</url>
            <changeset>2011-04-20T17:48:34Z</changeset>
            <type>production</type>
            <formats>
                <format>text/xml</format>
                <format>application/json</format>
            </formats>
        </endpoint>
    </endpoints>
</discovery>
"""
